/** xterm.js setup, loaded lazily by Terminal.svelte (the only importer of @xterm/* in the app). */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { TerminalBridge } from './port.ts';
import { CODE_FONT_FAMILY } from '../fonts/fonts.ts';
import { afterFrame } from '../frames.ts';

export interface MountedTerminal {
  fit(): void;
  focus(): void;
  dispose(): void;
}

/**
 * The terminal in four tasks, each after a frame: xterm's module (evaluated in the task that imports it),
 * its constructor (~40 ms, several times that on a busy machine), `open` (~80 ms: its renderer, and the font
 * measure, a forced layout, which in the task that mounted it would lay out the whole freshly mounted page
 * as well), and the output so far with the first fit to the element.
 */
export async function mountTerminal(element: HTMLElement, bridge: TerminalBridge): Promise<MountedTerminal> {
  await afterFrame();
  const term = new Terminal({
    fontFamily: CODE_FONT_FAMILY,
    fontSize: 13,
    lineHeight: 1.2,
    cursorBlink: true,
    convertEol: false,
    scrollback: 5000,
    allowProposedApi: false,
    theme: {
      background: '#161a23',
      foreground: '#d8dee9',
      cursor: '#f0a35e',
      selectionBackground: '#3b4a6b',
      black: '#1f2430', brightBlack: '#5c6370',
      red: '#e06c75', green: '#8fce7a', yellow: '#e5c07b', blue: '#6fa8ff', magenta: '#c678dd', cyan: '#56b6c2', white: '#d8dee9',
    },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  await afterFrame();
  term.open(element);
  await afterFrame();

  // Copy/paste: Ctrl/Cmd+Shift+C/V like desktop terminals, Cmd+C/V on macOS; Ctrl+C stays SIGINT.
  term.attachCustomKeyEventHandler((e) => {
    if (e.type !== 'keydown') return true;
    const mac = navigator.platform.startsWith('Mac');
    const copy = (mac && e.metaKey && e.key === 'c') || (e.ctrlKey && e.shiftKey && e.key.toLowerCase() === 'c');
    const paste = (mac && e.metaKey && e.key === 'v') || (e.ctrlKey && e.shiftKey && e.key.toLowerCase() === 'v');
    if (copy && term.hasSelection()) {
      void navigator.clipboard?.writeText(term.getSelection());
      return false;
    }
    if (paste) {
      // Let the browser fire a paste event; xterm reads it and sends it through onData.
      return false;
    }
    return true;
  });

  // Drawn once xterm has parsed it and the next frame (xterm renders in its animation frame) is painted.
  const detach = bridge.attach((data, shown) => term.write(data, shown && (() => void afterFrame().then(shown))));
  const input = term.onData((data) => bridge.input(data));
  const resize = term.onResize(({ cols, rows }) => bridge.resize(cols, rows));
  const doFit = () => {
    if (element.clientWidth > 0 && element.clientHeight > 0) fit.fit();
  };
  const observer = new ResizeObserver(() => requestAnimationFrame(doFit));
  observer.observe(element);
  doFit();
  bridge.resize(term.cols, term.rows);

  return {
    fit: doFit,
    focus: () => term.focus(),
    dispose() {
      observer.disconnect();
      detach();
      input.dispose();
      resize.dispose();
      term.dispose();
    },
  };
}
