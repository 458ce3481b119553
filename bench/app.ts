/**
 * Browser figures, in headless Chromium against the production build (`vite build` + `vite preview`):
 * first load (cold cache) and reload (warm cache) to a usable shell, bytes transferred on first load, and
 * the longest main-thread task during a build (section `app`); and what a learner waits for at the
 * terminal, typed into it, from Enter to the output on screen (section `terminal`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { median, round } from './stats';

const PORT = Number(process.env.LAYERLAB_BENCH_PORT ?? 4319);
const URL_BASE = `http://localhost:${PORT}/`;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

async function untilReady(page: Page): Promise<void> {
  await page.getByTestId('status').filter({ hasText: 'Ready' }).waitFor({ timeout: 120_000 });
  await page.locator('.xterm-rows', { hasText: 'root@layerlab' }).waitFor({ timeout: 60_000 });
}

/** Builds the app and serves it with `vite preview`; gives a browser, stops both after `work`. */
async function withPreview(work: (browser: Browser) => Promise<Record<string, number | null | string>>) {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
  const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
  let browser: Browser | undefined;
  try {
    for (let i = 0; i < 100; i++) {
      if (await fetch(URL_BASE).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    return await work(browser);
  } finally {
    await browser?.close();
    try {
      process.kill(-server.pid!);
    } catch {
      /* already gone */
    }
  }
}

export function benchApp(): Promise<Record<string, number | null | string>> {
  return withPreview(async (browser) => {
    const results: Record<string, number | null | string> = {};

    // First load, cold cache: a fresh context each time. Transfer counted on the first one.
    const firstLoads: number[] = [];
    for (let i = 0; i < 10; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const responses: { url: string; bytes: Buffer; type: string }[] = [];
      if (i === 0) {
        page.on('response', async (response) => {
          const body = await response.body().catch(() => null);
          if (body) responses.push({ url: response.url(), bytes: body, type: response.headers()['content-type'] ?? '' });
        });
      }
      const started = Date.now();
      await page.goto(URL_BASE);
      await untilReady(page);
      firstLoads.push(Date.now() - started);
      if (i === 0) {
        await page.waitForTimeout(500);
        // What a CDN sends: text and wasm gzip-compressed, already compressed files (.zst) as they are.
        const compressed = responses.reduce((sum, r) => sum + (/\.zst$/.test(r.url) ? r.bytes.length : gzipSync(r.bytes).length), 0);
        results['app.transfer_bytes'] = compressed;
        results['app.transfer_raw_bytes'] = responses.reduce((sum, r) => sum + r.bytes.length, 0);
      }
      // Reloads with this context's warm HTTP cache.
      if (i < 3) {
        const reloads: number[] = [];
        for (let j = 0; j < 4; j++) {
          const t = Date.now();
          await page.reload();
          await untilReady(page);
          reloads.push(Date.now() - t);
        }
        results[`_reloads_${i}`] = JSON.stringify(reloads);
      }
      await context.close();
    }
    const reloads = Object.keys(results)
      .filter((k) => k.startsWith('_reloads_'))
      .flatMap((k) => {
        const values = JSON.parse(String(results[k])) as number[];
        delete results[k];
        return values;
      });
    results['app.first_load_ms'] = round(median(firstLoads));
    results['app.reload_ms'] = round(median(reloads));

    // Longest main-thread task during builds (the VM and engine run in a worker).
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(URL_BASE);
    await untilReady(page);
    const longest: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.evaluate(() => {
        (window as unknown as { __longest: number }).__longest = 0;
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            const w = window as unknown as { __longest: number };
            w.__longest = Math.max(w.__longest, entry.duration);
          }
        }).observe({ type: 'longtask', buffered: false });
      });
      // Uncached each time (a new line), so the build really runs RUN steps in the VM.
      await page.locator('.monaco-editor .view-line', { hasText: 'CMD' }).first().click();
      await page.keyboard.press('End');
      await page.keyboard.type(`\nRUN echo bench-${i} > /bench.txt`);
      await page.getByTestId('build-button').click();
      await page.waitForTimeout(1500);
      await page.getByTestId('build-log').filter({ hasText: /Built in|Build failed/ }).waitFor({ timeout: 120_000 });
      longest.push(await page.evaluate(() => (window as unknown as { __longest: number }).__longest));
    }
    results['app.longest_task_ms'] = round(Math.max(...longest));
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
  return withPreview(async (browser) => {
    const results: Record<string, number | null | string> = {};
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(URL_BASE);
    await untilReady(page);
    // Like a learner reading the page before typing; also lets boot-time work finish.
    await page.waitForTimeout(3000);
    let n = 0;
    const dockerEcho = () => {
      n++;
      return typed(page, `docker run --rm busybox echo $((1000 + ${n}))dr`, `${1000 + n}dr`);
    };
    results['app.first_docker_run_ms'] = await dockerEcho();
    const runs: number[] = [];
    for (let i = 0; i < 10; i++) runs.push(await dockerEcho());
    results['app.docker_run_ms'] = round(median(runs));
    const echoes: number[] = [];
    for (let i = 0; i < 10; i++) echoes.push(await typed(page, `echo $((5000 + ${i}))se`, `${5000 + i}se`));
    results['app.shell_echo_ms'] = round(median(echoes));
    const python = (i: number) => typed(page, `docker run --rm python:3.11 python3 -c 'print(${7000 + i} + 1, "py")'`, `${7001 + i} py`, 600_000);
    results['app.first_python_run_ms'] = await python(0);
    const pythons: number[] = [];
    for (let i = 1; i <= 5; i++) pythons.push(await python(i));
    results['app.python_run_ms'] = round(median(pythons));
    results['app.terminal_runs'] = JSON.stringify({ docker: runs, echo: echoes, python: pythons });
    await context.close();
    return results;
  });
}
