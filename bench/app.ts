/**
 * Browser figures, in headless Chromium against the production build on the production server (bench/serve.ts),
 * section `app`:
 * - app.first_load_ms: a fresh browser context (empty caches) to a usable shell (status Ready and the
 *   shell's prompt on screen), median of 10. Each context's window is left WINDOW_SETTLE_MS before the page is
 *   opened in it, as a learner's browser window exists before they open the app;
 * - app.reload_ms: reloads of the same context to a usable shell, median of 12; the reloads start once the
 *   decompressed snapshot is in this browser's cache (it is written in the background a few seconds after
 *   the first load, src/machine/state-cache.ts), each from a page that has settled (editor up, then
 *   RELOAD_AFTER_MS), as for a learner who reloads later;
 * - app.reload_right_after_ready_ms: reloads the moment the shell is ready (median of 6), while the page
 *   still loads the editor and the VM runs its warm-up: both compete with the new page for the CPU;
 * - app.transfer_bytes: what the first load downloads until the page is done (shell usable, editor up), as
 *   a CDN sends it (text and wasm gzip-compressed, the .zst snapshot as is); split into
 *   app.transfer_snapshot_bytes (the VM snapshot) and app.transfer_code_bytes (everything else), and
 *   app.transfer_to_shell_bytes (only responses that started before the shell was usable). The base images the page
 *   prefetches in the background afterwards (vm/base/) are app.transfer_prefetch_bytes, not included;
 * - app.longest_task_ms: the longest main-thread task (longtask PerformanceObserver) during the first load
 *   (until the editor is up, + 1 s) and during three uncached builds; both parts are kept as
 *   app.longest_task_load_ms (the longest of the 10 first loads; each load's in app.longest_task_load_runs)
 *   and app.longest_task_build_ms.
 * Section `terminal`: what a learner waits for at the terminal, typed into it, from Enter to the output
 * on screen. `app.docker_run_ms` pauses a second after each output, as a learner reads it before typing the
 * next command (which takes a person seconds; typed here at machine speed): the engine's work between
 * commands happens then (the next container's network namespace, src/engine/containers/prepared-netns.ts).
 * `app.docker_run_back_to_back_ms` types the next command at once, as a pasted script would.
 * `app.docker_run_after_reading_ms`, the same after the terminal has been left READING_MS (a learner reading
 * a lesson step): the engine's idle-time work has then compiled a container start's guest code
 * (Engine.compileAhead), which the runs three seconds after load do not have yet.
 */
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { startProductionServer } from './serve';
import { median, round } from './stats';

const PORT = Number(process.env.LAYERLAB_BENCH_PORT ?? 4319);
const URL_BASE = `http://localhost:${PORT}/`;
/** How long the terminal is left before `app.docker_run_after_reading_ms` (a learner reading a lesson step). */
const READING_MS = 30_000;
/** How long a settled page is left before `app.reload_ms` reloads it (a learner reads before reloading). */
const RELOAD_AFTER_MS = 5000;
/**
 * How long a new window is left before the first load starts in it. Chromium builds a new window's own
 * interface first (its omnibox popup is a WebUI page of ~200 modules, loaded in a renderer of its own for
 * about two seconds); on a 2-core machine that work would otherwise run beside the page's load and be
 * counted as the app's (+0.7 s to the shell, most of the long tasks before it).
 */
const WINDOW_SETTLE_MS = 3000;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** In the page: the status says Ready and the shell's prompt is on screen. */
const SHELL_READY = `document.querySelector('[data-testid="status"]')?.textContent?.includes('Ready') &&
  document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes('root@layerlab')`;

/** What PAGE_PROBE keeps in the page: long tasks and the wall-clock moments the shell and the editor appeared. */
interface ProbeState {
  longTasks: number[];
  readyAt: number;
  editorAt: number;
}

/**
 * Watches the page from inside it, so that waiting adds no work to the page's main thread: a Playwright wait
 * evaluates its injected script there first (100–160 ms on a 2-core machine), which a longtask observer
 * counts as the app's. Records every long task, and checks at every frame whether the shell is usable
 * (status Ready, the prompt on screen) and whether the editor is up. Kept as source text: a function would be
 * compiled by tsx, which wraps named closures in a helper the page does not have.
 */
const PAGE_PROBE = `(() => {
  const state = { longTasks: [], readyAt: 0, editorAt: 0 };
  window.__probe = state;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) state.longTasks.push(entry.duration);
  }).observe({ type: 'longtask', buffered: true });
  const check = () => {
    if (!state.readyAt && (${SHELL_READY})) state.readyAt = Date.now();
    if (!state.editorAt && document.querySelector('.monaco-editor')) state.editorAt = Date.now();
    if (!state.readyAt || !state.editorAt) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();`;

/** Reads PAGE_PROBE's state through the DevTools protocol: one small evaluation, no injected script. */
class Probe {
  private constructor(private readonly session: CDPSession) {}

  static async of(page: Page): Promise<Probe> {
    return new Probe(await page.context().newCDPSession(page));
  }

  async state(): Promise<ProbeState | null> {
    const json = await this.run('JSON.stringify(window.__probe ?? null)');
    return typeof json === 'string' ? (JSON.parse(json) as ProbeState | null) : null;
  }

  /** The wall-clock time `moment` happened in a page loaded after `since` (an earlier page's answer is older). */
  async until(moment: 'readyAt' | 'editorAt', since: number, timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const at = (await this.state().catch(() => null))?.[moment] ?? 0;
      if (at >= since) return at;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`bench: the page's ${moment === 'readyAt' ? 'shell' : 'editor'} was not up within ${timeoutMs / 1000} s`);
  }

  /** Runs a short expression in the page (no injected script). */
  async run(expression: string): Promise<unknown> {
    const { result } = await this.session.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    return result.value;
  }
}

/** Waits until this context's browser holds the decompressed snapshot (src/machine/state-cache.ts); false if it never does. */
async function untilSnapshotCached(probe: Probe, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const entries = await probe.run(
      `(async () => { if (!navigator.storage?.getDirectory) return -1; let n = 0; for await (const _ of (await (await navigator.storage.getDirectory()).getDirectoryHandle('layerlab-vm-state', { create: true })).keys()) n++; return n; })()`,
    );
    if (entries !== 0) return Number(entries) > 0;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

/** Builds the app and serves it (bench/serve.ts); gives a browser, stops both after `work`. */
async function withServedApp(work: (browser: Browser) => Promise<Record<string, number | null | string>>) {
  const server = await startProductionServer(PORT);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    return await work(browser);
  } finally {
    await browser?.close();
    await server.stop();
  }
}

export function benchApp(): Promise<Record<string, number | null | string>> {
  return withServedApp(async (browser) => {
    const results: Record<string, number | null | string> = {};

    // First load, cold cache: a fresh context each time. Transfer counted on the first one.
    const firstLoads: number[] = [];
    const longestLoad: number[] = [];
    let uncachedReloads = 0;
    for (let i = 0; i < 10; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addInitScript({ content: PAGE_PROBE });
      const page = await context.newPage();
      await page.waitForTimeout(WINDOW_SETTLE_MS);
      const probe = await Probe.of(page);
      // Requests of the page and its workers (the VM's assets are fetched by the daemon worker).
      const responses: { url: string; bytes: Buffer; at: number }[] = [];
      if (i === 0) {
        context.on('response', async (response) => {
          const at = Date.now();
          const body = await response.body().catch(() => null);
          if (body) responses.push({ url: response.url(), bytes: body, at });
        });
      }
      const started = Date.now();
      await page.goto(URL_BASE);
      const shellAt = await probe.until('readyAt', started);
      firstLoads.push(shellAt - started);
      await probe.until('editorAt', started);
      await page.waitForTimeout(1000);
      longestLoad.push(Math.max(0, ...((await probe.state())?.longTasks ?? [])));
      if (i === 0) {
        // What a CDN sends: text and wasm gzip-compressed, already compressed files (.zst) as they are.
        const sent = (r: { url: string; bytes: Buffer }) => (/\.zst$/.test(r.url) ? r.bytes.length : gzipSync(r.bytes).length);
        const sum = (list: typeof responses) => list.reduce((total, r) => total + sent(r), 0);
        const prefetch = (r: { url: string }) => /\/vm\/base\/.+\.(sqfs|tar)(\.zst|\.gz)?$/.test(r.url);
        const pageResponses = responses.filter((r) => !prefetch(r));
        results['app.transfer_bytes'] = sum(pageResponses);
        results['app.transfer_snapshot_bytes'] = sum(pageResponses.filter((r) => /\.zst$/.test(r.url)));
        results['app.transfer_code_bytes'] = sum(pageResponses.filter((r) => !/\.zst$/.test(r.url)));
        results['app.transfer_to_shell_bytes'] = sum(pageResponses.filter((r) => r.at <= shellAt));
        results['app.transfer_prefetch_bytes'] = responses.filter(prefetch).reduce((total, r) => total + r.bytes.length, 0);
        results['app.transfer_raw_bytes'] = pageResponses.reduce((total, r) => total + r.bytes.length, 0);
      }
      // Reloads with this context's warm caches, once the snapshot cache is filled: four of a page that has
      // settled (editor up, RELOAD_AFTER_MS later), then two right after the shell is ready.
      if (i < 3) {
        if (!(await untilSnapshotCached(probe))) uncachedReloads++;
        const reloads: number[] = [];
        const hasty: number[] = [];
        let loadStarted = started;
        for (let j = 0; j < 6; j++) {
          const settled = j < 4;
          if (settled) {
            await probe.until('editorAt', loadStarted);
            await page.waitForTimeout(RELOAD_AFTER_MS);
          }
          const t = Date.now();
          loadStarted = t;
          await page.reload();
          (settled ? reloads : hasty).push((await probe.until('readyAt', t)) - t);
        }
        results[`_reloads_${i}`] = JSON.stringify(reloads);
        results[`_hasty_${i}`] = JSON.stringify(hasty);
      }
      await context.close();
    }
    const series = (prefix: string) =>
      Object.keys(results)
        .filter((k) => k.startsWith(prefix))
        .flatMap((k) => {
          const values = JSON.parse(String(results[k])) as number[];
          delete results[k];
          return values;
        });
    const reloads = series('_reloads_');
    const hasty = series('_hasty_');
    results['app.first_load_ms'] = round(median(firstLoads));
    results['app.reload_ms'] = round(median(reloads));
    results['app.first_load_runs'] = JSON.stringify(firstLoads);
    results['app.reload_runs'] = JSON.stringify(reloads);
    results['app.reload_right_after_ready_ms'] = round(median(hasty));
    results['app.reload_right_after_ready_runs'] = JSON.stringify(hasty);
    // Reload series that had to start without the snapshot cache (storage refused or too slow to fill).
    results['app.reload_uncached_series'] = uncachedReloads;

    // Longest main-thread task during builds (the VM and engine run in a worker), from the click on Build
    // until the build log says it ended: the edit before it and the harness's first use of the page are not counted.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: PAGE_PROBE });
    const page = await context.newPage();
    const probe = await Probe.of(page);
    const loaded = Date.now();
    await page.goto(URL_BASE);
    await probe.until('readyAt', loaded);
    await probe.until('editorAt', loaded);
    const longest: number[] = [];
    for (let i = 0; i < 3; i++) {
      // Uncached each time (a new line), so the build really runs RUN steps in the VM.
      await page.locator('.monaco-editor .view-line', { hasText: 'CMD' }).first().click();
      await page.keyboard.press('End');
      await page.keyboard.type(`\nRUN echo bench-${i} > /bench.txt`);
      await page.waitForTimeout(500);
      const before = ((await probe.state())?.longTasks ?? []).length;
      await page.getByTestId('build-button').click();
      await page.waitForTimeout(1500);
      await page.getByTestId('build-log').filter({ hasText: /Built in|Build failed/ }).waitFor({ timeout: 120_000 });
      longest.push(Math.max(0, ...((await probe.state())?.longTasks ?? []).slice(before)));
    }
    results['app.longest_task_load_ms'] = round(Math.max(...longestLoad));
    results['app.longest_task_load_runs'] = JSON.stringify(longestLoad.map((ms) => round(ms)));
    results['app.longest_task_build_ms'] = round(Math.max(...longest));
    results['app.longest_task_ms'] = round(Math.max(...longestLoad, ...longest));
    await context.close();
    return results;
  });
}

/**
 * Types `command` into the terminal and returns the ms from Enter until `expected` is on screen. The
 * expected text is computed by the shell (`$((…))`) or the program, so the echoed command never matches it.
 */
async function typed(page: Page, command: string, expected: string, timeout = 180_000): Promise<number> {
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command);
  // Enter only once the shell has echoed what was typed: the time is the command's, not the typing's.
  const echoed = command.slice(-12);
  await page.waitForFunction(
    (text) => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes(text),
    echoed,
    { timeout, polling: 'raf' },
  );
  const started = Date.now();
  await page.keyboard.press('Enter');
  await page.waitForFunction(
    (text) => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes(text),
    expected,
    { timeout, polling: 'raf' },
  );
  return Date.now() - started;
}

/** A learner at the terminal of a freshly loaded page: the first and later docker runs, shell echo, python. */
export function benchTerminal(): Promise<Record<string, number | null | string>> {
  return withServedApp(async (browser) => {
    const results: Record<string, number | null | string> = {};
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript({ content: PAGE_PROBE });
    const page = await context.newPage();
    const probe = await Probe.of(page);
    const loaded = Date.now();
    await page.goto(URL_BASE);
    await probe.until('readyAt', loaded);
    // Like a learner reading the page before typing; also lets boot-time work finish.
    await page.waitForTimeout(3000);
    let n = 0;
    const dockerEcho = () => {
      n++;
      return typed(page, `docker run --rm busybox echo $((1000 + ${n}))dr`, `${1000 + n}dr`);
    };
    results['app.first_docker_run_ms'] = await dockerEcho();
    const runs: number[] = [];
    for (let i = 0; i < 10; i++) {
      await page.waitForTimeout(1000);
      runs.push(await dockerEcho());
    }
    results['app.docker_run_ms'] = round(median(runs));
    const backToBack: number[] = [];
    for (let i = 0; i < 10; i++) backToBack.push(await dockerEcho());
    results['app.docker_run_back_to_back_ms'] = round(median(backToBack));
    const echoes: number[] = [];
    for (let i = 0; i < 10; i++) echoes.push(await typed(page, `echo $((5000 + ${i}))se`, `${5000 + i}se`));
    results['app.shell_echo_ms'] = round(median(echoes));
    const python = (i: number) => typed(page, `docker run --rm python:3.11 python3 -c 'print(${7000 + i} + 1, "py")'`, `${7001 + i} py`, 600_000);
    results['app.first_python_run_ms'] = await python(0);
    const pythons: number[] = [];
    for (let i = 1; i <= 5; i++) pythons.push(await python(i));
    results['app.python_run_ms'] = round(median(pythons));
    // A learner who reads for a while (a lesson step) before the next command: meanwhile the engine has
    // compiled a container start's guest code in idle time (Engine.compileAhead).
    await page.waitForTimeout(READING_MS);
    const afterReading: number[] = [];
    for (let i = 0; i < 10; i++) {
      await page.waitForTimeout(1000);
      afterReading.push(await dockerEcho());
    }
    results['app.docker_run_after_reading_ms'] = round(median(afterReading));
    results['app.terminal_runs'] = JSON.stringify({ docker: runs, docker_back_to_back: backToBack, echo: echoes, python: pythons, docker_after_reading: afterReading });
    await context.close();
    return results;
  });
}
