import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';

// Embeds on a page from another origin: the app is served by Vite on localhost:LAYERLAB_E2E_PORT (playwright.config.ts);
// the host pages are served here, on another port, so every message crosses origins. As
// http://localhost:<port> the host is same-site with the app (storage works in the iframes); as
// http://127.0.0.1:<port> it is cross-site, where this Chromium gives iframes no storage at all.

const APP = `http://localhost:${process.env.LAYERLAB_E2E_PORT ?? 5199}`;
const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

const pages: Record<string, string> = {
  // Two sandboxes: one on the real VM (started by the first API call), one on the fake backend.
  '/host.html': `<!doctype html><meta charset="utf-8"><title>host</title>
    <script src="${APP}/embed.js"></script>
    <h1>Docs page</h1>
    <layerlab-sandbox id="real" start="click" panels="editor,layers,terminal" height="560" label="Real VM">
      <script type="text/plain" data-path="Dockerfile">
        FROM busybox
        RUN echo from-the-element > /element.txt
      </script>
      <script type="text/plain" data-path="note.txt">
        héllo ✓ — from the element
      </script>
    </layerlab-sandbox>
    <layerlab-sandbox id="fake" backend="fake" panels="editor,layers" readonly theme="dark" height="420"
      dockerfile="FROM busybox&#10;COPY only-in-fake.txt /&#10;" files='{"only-in-fake.txt":"fake\\n"}'></layerlab-sandbox>
    <script>
      window.events = [];
      for (const el of document.querySelectorAll('layerlab-sandbox')) {
        for (const type of ['loaded', 'ready', 'build-started', 'build-finished', 'container-state', 'result', 'error']) {
          el.addEventListener('layerlab:' + type, (e) => window.events.push({ el: el.id, type, detail: e.detail }));
        }
      }
    </script>`,
  // A lesson embed: its steps are checked against the sandbox's real state.
  '/lesson.html': `<!doctype html><meta charset="utf-8"><title>lesson</title>
    <script src="${APP}/embed.js"></script>
    <layerlab-sandbox id="lesson" lesson="01" panels="editor,terminal" height="480"></layerlab-sandbox>
    <script>
      window.events = [];
      const el = document.getElementById('lesson');
      for (const type of ['ready', 'step-completed']) el.addEventListener('layerlab:' + type, (e) => window.events.push({ el: 'lesson', type, detail: e.detail }));
    </script>`,
  // Raw iframes: one lists this page's origin, one lists only another origin (so this page is unlisted).
  '/unlisted.html': `<!doctype html><meta charset="utf-8"><title>unlisted</title>
    <iframe id="listed" style="width:900px;height:360px" src="${APP}/embed.html?backend=fake&panels=editor&origins=ORIGIN"></iframe>
    <iframe id="unlisted" style="width:900px;height:360px" src="${APP}/embed.html?backend=fake&panels=editor&origins=https://docs.example.org"></iframe>
    <script>
      window.replies = [];
      addEventListener('message', (e) => window.replies.push({ origin: e.origin, data: e.data }));
      window.sendAll = () => {
        for (const id of ['listed', 'unlisted']) {
          document.getElementById(id).contentWindow.postMessage(
            { source: 'layerlab', type: 'set-files', id: 'x-' + id, files: { ['planted-' + id + '.txt']: 'planted' } }, '*');
        }
      };
    </script>`,
};

let server: Server;
let hostOrigin = '';
let crossSiteOrigin = '';

test.beforeAll(async () => {
  server = createServer((req, res) => {
    const body = pages[new URL(req.url ?? '/', 'http://x').pathname];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(body.replaceAll('ORIGIN', `http://${req.headers.host}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  hostOrigin = `http://localhost:${port}`;
  crossSiteOrigin = `http://127.0.0.1:${port}`;
});

test.afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

type Recorded = { el: string; type: string; detail: Record<string, unknown> };
const events = (page: Page, el: string, type: string) =>
  page.evaluate(([el, type]) => (window as unknown as { events: Recorded[] }).events.filter((e) => e.el === el && e.type === type), [el, type]);

test('two embeds on a cross-origin page: one driven through the postMessage API on the real VM', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`${hostOrigin}/host.html`);
  const real = page.locator('#real');
  // start="click": a poster, no iframe, until asked.
  await expect(real.getByRole('button', { name: 'Start sandbox' })).toBeVisible();
  await expect(real.locator('iframe')).toHaveCount(0);
  // The other one starts by itself (it is in view), on its own, with its own files and layout.
  const fake = page.frameLocator('#fake iframe');
  await expect(fake.getByRole('button', { name: 'only-in-fake.txt', exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(fake.getByRole('button', { name: 'New file' })).toBeHidden(); // readonly
  await expect(fake.getByTestId('terminal')).toHaveCount(0); // panels="editor,layers"
  await expect.poll(() => events(page, 'fake', 'ready'), { timeout: 30_000 }).toHaveLength(1);

  // Drive the real one from the host page: set files, build, wait for the build-finished event.
  const built = page.evaluate(async () => {
    const el = document.getElementById('real') as HTMLElement & { setFiles(f: object): Promise<void>; build(o?: object): Promise<void> };
    const done = new Promise<Record<string, unknown>>((resolve) => el.addEventListener('layerlab:build-finished', (e) => resolve((e as CustomEvent).detail), { once: true }));
    await el.setFiles({ Dockerfile: 'FROM busybox\nWORKDIR /app\nCOPY note.txt greeting.txt ./\nRUN wc -c note.txt > size.txt\nCMD ["cat", "/app/size.txt"]\n', 'greeting.txt': 'hi\n' });
    await el.build({ tag: 'demo' });
    return done;
  });
  const frame = page.frameLocator('#real iframe');
  await expect(frame.getByTestId('status')).toHaveText(/Ready|Building|Built/, { timeout: 120_000 });
  const result = await built;
  expect(result).toMatchObject({ ok: true, tag: 'demo', error: null });
  const layers = result.layers as { instruction: string; line: number; empty: boolean; base: boolean; cached: boolean; changedFiles: number }[];
  // Bottom-up, as `docker history` reads upwards (instructions in Docker's history form).
  const own = layers.filter((l) => !l.base);
  expect(own.map((l) => l.instruction)).toEqual(['WORKDIR /app', expect.stringMatching(/^COPY /), 'RUN wc -c note.txt > size.txt', expect.stringMatching(/^CMD /)]);
  expect(own.map((l) => l.empty)).toEqual([false, false, false, true]);
  expect(own.filter((l) => !l.empty).map((l) => [l.line, l.cached])).toEqual([[2, false], [3, false], [4, false]]);
  expect(layers[0]).toMatchObject({ base: true, empty: false }); // the busybox base layer
  expect(layers.find((l) => l.instruction.startsWith('COPY'))!.changedFiles).toBeGreaterThanOrEqual(2);
  expect(result.builtSteps).toBe(3);
  expect(await events(page, 'real', 'ready')).toHaveLength(1);
  expect(await events(page, 'real', 'build-started')).toEqual([{ el: 'real', type: 'build-started', detail: { type: 'build-started', tag: 'demo' } }]);
  await expect(frame.getByTestId('layer').filter({ hasText: 'COPY' })).toBeVisible();

  // The same build again comes from the cache.
  const again = await page.evaluate(async () => {
    const el = document.getElementById('real') as HTMLElement & { build(): Promise<void> };
    const done = new Promise<Record<string, unknown>>((resolve) => el.addEventListener('layerlab:build-finished', (e) => resolve((e as CustomEvent).detail), { once: true }));
    await el.build();
    return done;
  });
  expect(again).toMatchObject({ ok: true, cachedSteps: 3, builtSteps: 0 });
  expect((again.layers as { base: boolean; empty: boolean; cached: boolean }[]).filter((l) => !l.base && !l.empty).every((l) => l.cached)).toBe(true);

  // A command in the terminal: the element's non-ASCII file made it through the URL hash intact, and a
  // container's state changes arrive as events.
  await page.evaluate(() => (document.getElementById('real') as HTMLElement & { run(c: string): Promise<void> }).run('cat note.txt && docker run -d --name box demo sleep 300'));
  await expect(frame.getByTestId('terminal').locator('.xterm-rows')).toContainText('héllo ✓ — from the element', { timeout: 30_000 });
  await expect.poll(async () => (await events(page, 'real', 'container-state')).map((e) => `${e.detail.name}:${e.detail.state}`), { timeout: 30_000 }).toContain('box:running');
  await expect(frame.getByTestId('writable-layer').filter({ hasText: 'box' })).toBeVisible({ timeout: 20_000 });
  await page.screenshot({ path: `${SHOTS}/embed-cross-origin.png` });

  // Storage: the host page's is untouched; each embed's is its own, apart from the main app's.
  expect(await page.evaluate(async () => ({ local: localStorage.length, idb: (await indexedDB.databases()).length }))).toEqual({ local: 0, idb: 0 });
  const names = await page.frames().find((f) => f.url().includes('backend=fake'))!.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  const realNames = await page.frames().find((f) => f.url().startsWith(APP) && !f.url().includes('backend=fake'))!.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  const all = [...names, ...realNames];
  expect(all).not.toContain('layerlab-ui');
  expect(all).not.toContain('layerlab-engine');
  expect(realNames.some((n) => n?.startsWith(`layerlab-engine@embed:${hostOrigin}:real:`))).toBe(true);
  expect(realNames.some((n) => n?.startsWith(`layerlab-ui@embed:${hostOrigin}:real:`))).toBe(true);
  expect(names.some((n) => n?.startsWith(`layerlab-ui@embed:${hostOrigin}:fake:`))).toBe(true);
});

test('a lesson embed announces each step its checks find complete', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(`${hostOrigin}/lesson.html`);
  await expect.poll(() => events(page, 'lesson', 'ready'), { timeout: 90_000 }).toHaveLength(1);
  expect(await events(page, 'lesson', 'step-completed')).toEqual([]);
  await page.evaluate(() => (document.getElementById('lesson') as HTMLElement & { run(c: string): Promise<void> }).run('docker build -t app .'));
  await expect
    .poll(async () => (await events(page, 'lesson', 'step-completed')).map((e) => e.detail.step), { timeout: 90_000 })
    .toEqual([1]);
  expect((await events(page, 'lesson', 'step-completed'))[0].detail).toMatchObject({ lesson: '01-what-is-an-image', title: 'Build the image' });
});

test('a command from an origin not in the allow-list is ignored', async ({ page }) => {
  await page.goto(`${crossSiteOrigin}/unlisted.html`);
  const listed = page.frameLocator('#listed');
  const unlisted = page.frameLocator('#unlisted');
  await expect(listed.getByRole('button', { name: 'Dockerfile', exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(unlisted.getByRole('button', { name: 'Dockerfile', exact: true })).toBeVisible({ timeout: 30_000 });
  await page.evaluate(() => (window as unknown as { sendAll(): void }).sendAll());

  // The listed frame obeys and answers; the unlisted one does nothing and says nothing.
  await expect(listed.getByRole('button', { name: 'planted-listed.txt', exact: true })).toBeVisible();
  await expect.poll(() => page.evaluate(() => (window as unknown as { replies: { data: { type: string; id?: string } }[] }).replies.filter((r) => r.data?.type === 'result').map((r) => r.data.id))).toEqual(['x-listed']);
  await page.waitForTimeout(500); // give a wrongly obeyed message time to show (nothing positive to wait for)
  await expect(unlisted.getByRole('button', { name: 'planted-unlisted.txt', exact: true })).toHaveCount(0);
  // Events from the unlisted frame go only to https://docs.example.org, so this page gets none of them:
  // all it ever has are the listed frame's `loaded` and `ready` (and its `result`).
  const events = () => page.evaluate(() => (window as unknown as { replies: { data: { type: string } }[] }).replies.map((r) => r.data?.type).sort());
  await expect.poll(events).toEqual(['loaded', 'ready', 'result']);
  await page.waitForTimeout(300);
  expect(await events()).toEqual(['loaded', 'ready', 'result']);
});
