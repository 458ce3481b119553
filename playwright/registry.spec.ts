import { expect, test, type Page } from '@playwright/test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { deflateRawSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzip } from '../src/engine/archive/tar.ts';
import { startRegistry, writeOciLayout, skopeoPush, type LocalRegistry } from '../test/registry/local-registry.ts';

// The real app pulls through the dev server's same-origin proxy from a real registry (Debian's
// docker-registry on the port after the dev server's, which playwright.config.ts allow-lists).

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';
const port = Number(process.env.LAYERLAB_E2E_PORT ?? 5199) + 1;
let registry: LocalRegistry;
let work: string;

test.setTimeout(420_000);

test.beforeAll(async () => {
  registry = await startRegistry({ port });
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-e2e-registry-'));
  const busybox = await gzip(new Uint8Array(await readFile(path.join('public', 'vm', 'base', 'busybox-rootfs.tar'))));
  // A second layer of incompressible bytes, so the download takes long enough to watch.
  const noise = new Uint8Array(6 * 1024 * 1024);
  for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
  await writeOciLayout(path.join(work, 'multi'), 'v1', [
    { platform: { os: 'linux', architecture: 'amd64' }, layers: [{ gzipped: busybox }, { files: [{ name: 'arch', data: 'amd64\n' }] }], cmd: ['cat', '/arch'] },
    { platform: { os: 'linux', architecture: '386' }, layers: [{ gzipped: busybox }, { files: [{ name: 'arch', data: '386\n' }, { name: 'noise', data: noise }] }], cmd: ['cat', '/arch'] },
  ]);
  await skopeoPush(path.join(work, 'multi'), 'v1', `${registry.host}/lab/multi:1`);
  await writeOciLayout(path.join(work, 'amd64'), 'v1', [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [{ files: [{ name: 'arch', data: 'amd64\n' }] }] }]);
  await skopeoPush(path.join(work, 'amd64'), 'v1', `${registry.host}/lab/amd64only:1`);
});

test.afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function terminal(page: Page, command: string, expected: string | RegExp, timeout = 60_000) {
  await page.getByRole('region', { name: 'Terminal and panels' }).getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(expected, { timeout });
}

test('pulls a multi-platform image through the proxy with a progress bar, then runs its linux/386 variant', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  const ref = `${registry.host}/lab/multi:1`;

  await page.getByRole('tab', { name: 'Images' }).click();
  await page.getByTestId('pull-input').fill(ref);
  await page.getByTestId('pull-button').click();
  const transfer = page.getByTestId('transfer').filter({ hasText: ref });
  await expect(transfer).toBeVisible();
  await expect(transfer.getByRole('progressbar')).toBeVisible();
  await expect(transfer).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(transfer.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(transfer).toContainText(`Downloaded newer image for ${ref}`);
  await expect(page.getByRole('button', { name: ref })).toBeVisible({ timeout: 20_000 });
  await page.screenshot({ path: `${SHOTS}/registry-pull.png` });
  await page.setViewportSize({ width: 800, height: 800 });
  await expect(page.getByTestId('transfer').first()).toBeInViewport();
  await page.waitForTimeout(600); // let the layout settle after the resize
  await page.screenshot({ path: `${SHOTS}/registry-pull-narrow.png` });
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page.getByTestId('pane-panels')).toBeHidden(); // the wide layout is back: no pane tabs

  // The pulled image runs in the VM: the linux/386 variant was picked.
  await terminal(page, `docker run --rm ${ref} | sed 's/^/arch=/'`, 'arch=386', 90_000);
  await terminal(page, `docker images --digests | grep lab/multi | grep -c sha256: | sed 's/^/digests=/'`, 'digests=1');

  // From the guest terminal, through the same proxy: an amd64-only image is refused clearly.
  await terminal(page, `docker pull ${registry.host}/lab/amd64only:1`, 'has no linux/386 image (it has linux/amd64)');
  await expect(page.getByTestId('transfer').filter({ hasText: 'amd64only' })).toHaveAttribute('data-state', 'failed');
});

test('a build FROM an image the store lacks pulls it, with its progress bar in the build log', async ({ page }) => {
  const from = `${registry.host}/lab/multi:1`;
  // A share link carries the Dockerfile into the app (deflate-raw + base64url of the JSON).
  const files = [['Dockerfile', `FROM ${from}\nRUN cat /arch > /copied\n`]];
  const hash = '#share=' + deflateRawSync(Buffer.from(JSON.stringify({ v: 1, files, tag: 'fromreg' }))).toString('base64url');
  await page.goto('/' + hash);
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await terminal(page, `docker rmi ${from} >/dev/null 2>&1; echo cleared-$((40+2))`, 'cleared-42');
  await page.getByTestId('build-button').click();
  const log = page.getByTestId('build-log');
  const pull = log.getByTestId('transfer').filter({ hasText: from });
  await expect(pull).toBeVisible({ timeout: 60_000 });
  await expect(log).toContainText(/Built in/, { timeout: 120_000 });
  await expect(pull).toHaveAttribute('data-state', 'done');
  await expect(pull.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await page.screenshot({ path: `${SHOTS}/registry-build-pull.png` });
});
