import { readFileSync } from 'node:fs';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';

// The decompressed VM snapshot kept in the browser (src/machine/state-cache.ts): a reload restores from it, a
// new snapshot replaces it, and a browser that will not store it still runs the VM.

test.setTimeout(300_000);

/** The OPFS folder of the kept snapshot (STATE_CACHE_DIR). */
const FOLDER = 'layerlab-vm-state';

/** URLs of the VM snapshot download (made by the daemon worker), as the context sees them. */
function snapshotDownloads(context: BrowserContext): string[] {
  const seen: string[] = [];
  context.on('request', (request) => {
    if (request.url().endsWith('/vm/state.bin.zst')) seen.push(request.url());
  });
  return seen;
}

async function untilReady(page: Page) {
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 120_000 });
}

/** The kept snapshots, by file name (the snapshot's identity). */
function cachedSnapshots(page: Page): Promise<string[]> {
  return page.evaluate(async (name) => {
    const names: string[] = [];
    const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
    for await (const entry of folder.keys()) names.push(entry);
    return names;
  }, FOLDER);
}

async function untilCached(page: Page, match: RegExp) {
  await expect.poll(() => cachedSnapshots(page), { timeout: 90_000, intervals: [500] }).toEqual([expect.stringMatching(match)]);
}

async function shellAnswers(page: Page) {
  await page.getByTestId('terminal').click();
  await page.keyboard.type('echo cache-$((20 + 22))\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText('cache-42', { timeout: 60_000 });
}

test('a reload restores the VM from the snapshot kept in this browser, without downloading it', async ({ page, context }) => {
  const downloads = snapshotDownloads(context);
  // A browser that kept the snapshot the former way (a Cache API cache of the same name, 26 MB).
  await page.goto('/?backend=fake');
  await page.evaluate(async (name) => (await caches.open(name)).put('/vm/vm-state-cache/former', new Response('state')), FOLDER);
  await page.goto('/');
  await untilReady(page);
  expect(downloads).toHaveLength(1);
  await untilCached(page, /^[0-9a-f]{64}$/);
  expect(await page.evaluate((name) => caches.has(name), FOLDER)).toBe(false);

  await page.reload();
  await untilReady(page);
  expect(downloads).toHaveLength(1);
  await shellAnswers(page);
});

test('a new snapshot (another identity) is downloaded, restored, and replaces the kept one', async ({ page, context }) => {
  const downloads = snapshotDownloads(context);
  await page.goto('/');
  await untilReady(page);
  await untilCached(page, /^[0-9a-f]{64}$/);
  const [kept] = await cachedSnapshots(page);

  // The same VM files under a new identity, as after `npm run build:vm` made a new snapshot.
  const next = 'ab'.repeat(32);
  await context.route('**/vm/state-inputs.sha256', (route) => route.fulfill({ body: `${next}\n`, contentType: 'text/plain' }));
  await page.reload();
  await untilReady(page);
  expect(downloads).toHaveLength(2);
  await shellAnswers(page);
  await untilCached(page, new RegExp(`^${next}$`));
  expect(await cachedSnapshots(page)).not.toContain(kept);
});

test('a browser with too little storage for the snapshot still boots, and again after a reload', async ({ page, context }) => {
  const downloads = snapshotDownloads(context);
  const cdp = await context.newCDPSession(page);
  await page.goto('/');
  // Half the decompressed snapshot for the whole origin: the image store fits, the snapshot does not.
  const { raw_bytes: rawBytes } = JSON.parse(readFileSync(new URL('../public/vm/snapshot.json', import.meta.url), 'utf8')) as { raw_bytes: number };
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize: Math.floor(rawBytes / 2) });
  await page.reload();
  await untilReady(page);
  await shellAnswers(page);
  // Long enough for the background decompression to have tried and given up.
  await page.waitForTimeout(15_000);
  expect(await cachedSnapshots(page)).toEqual([]);

  const before = downloads.length;
  await page.reload();
  await untilReady(page);
  await shellAnswers(page);
  expect(downloads).toHaveLength(before + 1);
});

test('the snapshot is kept only once the page has loaded its editor, not while the editor still loads', async ({ page, context }) => {
  // The editor's first step of code (monaco-loader.ts; a chunk of its own when built, a dependency of the
  // dev server's otherwise) is held back until released: the page is still loading what it shows.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await context.route(/\/assets\/monaco-00-[^/]+\.js$|observableInternal[_/]index/, async (route) => {
    await held;
    await route.continue();
  });
  await page.goto('/');
  await untilReady(page);
  await shellAnswers(page);
  // Decompressing into the cache takes a second or two here; it has not started.
  await page.waitForTimeout(6_000);
  expect(await cachedSnapshots(page)).toEqual([]);

  release();
  await expect(page.locator('.monaco-editor')).toBeVisible({ timeout: 60_000 });
  await untilCached(page, /^[0-9a-f]{64}$/);
});
