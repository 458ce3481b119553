/**
 * Published ports in the browser (production build on the production server, bench/serve.ts): a busybox httpd in a container,
 * `-p 8080:8000`, reached through the preview Service Worker → page → daemon worker → agent TCP relay.
 * net.preview_request_ms: median of one small HTTP request; net.throughput_MBps: a 5 MB download.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { startProductionServer } from './serve';
import { median, round } from './stats';

const PORT = Number(process.env.LAYERLAB_BENCH_NET_PORT ?? 4329);
const URL_BASE = `http://localhost:${PORT}/`;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const BIG = 5 * 1024 * 1024;

async function terminal(page: Page, command: string, expected: string): Promise<void> {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await page.locator('.xterm-rows', { hasText: expected }).waitFor({ timeout: 120_000 });
}

export async function benchNet(): Promise<Record<string, number | null | string>> {
  const server = await startProductionServer(PORT);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(URL_BASE);
    await page.getByTestId('status').filter({ hasText: 'Ready' }).waitFor({ timeout: 120_000 });
    await terminal(
      page,
      `docker run -d -p 8080:8000 busybox sh -c 'mkdir /www && echo ok > /www/small.txt && head -c ${BIG} /dev/zero > /www/big && exec httpd -f -p 8000 -h /www' && echo started-$((40+2))`,
      'started-42',
    );
    // Requests from a page the Service Worker controls: a preview frame.
    await page.getByRole('tab', { name: /Ports/ }).click();
    await page.getByTestId('preview-8080').click();
    const frame = page.frameLocator('[data-testid="preview-frame"]');
    await frame.locator('body').waitFor({ timeout: 60_000 });
    const preview = page.frames().find((f) => f.url().includes('/preview/8080/'))!;
    const timeFetch = (path: string) =>
      preview.evaluate(async (p) => {
        for (let attempt = 0; ; attempt++) {
          const start = performance.now();
          const response = await fetch(p, { cache: 'no-store' });
          const bytes = (await response.arrayBuffer()).byteLength;
          if (response.ok) return { ms: performance.now() - start, bytes };
          if (attempt > 60) throw new Error(`${p}: HTTP ${response.status}`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }, path);
    await timeFetch('small.txt'); // the server is up
    const small: number[] = [];
    for (let i = 0; i < 15; i++) small.push((await timeFetch('small.txt')).ms);
    const big: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { ms, bytes } = await timeFetch('big');
      if (bytes !== BIG) throw new Error(`the 5 MB download returned ${bytes} bytes`);
      big.push(ms);
    }
    return {
      'net.preview_request_ms': round(median(small)),
      'net.throughput_MBps': round(BIG / 1e6 / (median(big) / 1000), 2),
    };
  } finally {
    await browser?.close();
    await server.stop();
  }
}
