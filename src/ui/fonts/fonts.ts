/**
 * The app's font stacks, and their lookups warmed off the main thread.
 *
 * On Linux, Chromium matches a font family to an installed font, and finds a fallback font for a
 * character the font lacks, by asking the browser process and waiting for the answer: once per family and
 * style, then cached for the page's process. On a busy machine each answer takes tens of milliseconds, and
 * the first layouts that needed many of them (the layer view's labels, Monaco measuring its font, the
 * terminal) held the main thread for seconds, waiting. A worker measuring the same text in the same fonts
 * first (an OffscreenCanvas goes through the same process-wide caches) does the waiting instead.
 */

/** The code font: editor and terminal (theme.css's --mono is the same stack for the rest of the page). */
export const CODE_FONT_FAMILY = "'JetBrains Mono', 'SF Mono', Menlo, Consolas, monospace";

/** The styles the page draws text in (theme.css, components, Monaco's bold keywords and italic comments). */
const STYLES = ['400', '500', '600', '700', 'italic 400'];

/**
 * Characters the page draws that the first-choice fonts may lack (so each needs a fallback lookup): the
 * UI's symbols, and what Monaco measures to size its text (fullwidth m, the arrows, the middle dots).
 */
const TEXT = 'Layerlab busybox 0123456789 ·—…’✓✗✕→←↗↵↺↻⇠▶▸▾▲■●❚⌘☀☾☰⟲× ｍ￫⸱';

/** Starts a worker that looks up the page's fonts (the stacks in theme.css and CODE_FONT_FAMILY), then ends. */
export function warmFonts(): void {
  if (typeof Worker === 'undefined' || typeof OffscreenCanvas === 'undefined') return;
  const style = getComputedStyle(document.documentElement);
  const stacks = [style.getPropertyValue('--sans'), style.getPropertyValue('--mono'), CODE_FONT_FAMILY].map((s) => s.trim()).filter(Boolean);
  const fonts = stacks.flatMap((stack) => STYLES.map((style) => `${style} 13px ${stack}`));
  try {
    const worker = new Worker(new URL('./warm-fonts-worker.ts', import.meta.url), { type: 'module', name: 'warm-fonts' });
    worker.postMessage({ fonts, text: TEXT });
  } catch {
    // Only a head start: without it the page looks the fonts up itself.
  }
}
