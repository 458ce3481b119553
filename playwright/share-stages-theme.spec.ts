import { deflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';

// Share links, the stage graph, export/import and the dark theme, on the fake backend (no VM).
// Each test gets a fresh browser context, so IndexedDB and localStorage start empty.

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

async function open(page: Page, hash = '') {
  await page.goto('/?backend=fake' + hash);
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
}

async function typeInEditor(page: Page, anchor: string, text: string) {
  await page.locator('.monaco-editor .view-line', { hasText: anchor }).first().click();
  await page.keyboard.press('End');
  await page.keyboard.type(text);
}

/** A share link made here, the way the app makes them (deflate-raw + base64url of the JSON). */
function shareHash(files: [string, string][], extra: Record<string, string> = {}): string {
  return '#share=' + deflateRawSync(Buffer.from(JSON.stringify({ v: 1, files, ...extra }))).toString('base64url');
}

const MULTI_STAGE = `FROM busybox AS build
WORKDIR /src
COPY hello.sh .
RUN chmod +x hello.sh && echo "v1" > version.txt

FROM busybox AS test
COPY --from=build /src/hello.sh /t/
RUN /t/hello.sh

FROM busybox
COPY --from=build /src/hello.sh /src/version.txt /usr/local/bin/
CMD ["hello.sh"]
`;

test('share link round trip: the shared files open in their own workspace, and mine come back', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await open(page);
  const editor = page.locator('.monaco-editor .view-lines');
  await typeInEditor(page, 'CMD', '\n#sharedversion');
  await expect(page.getByTestId('save-state')).toHaveText('Saved', { timeout: 5000 });

  await page.getByTestId('share-button').click();
  const url = await page.getByTestId('share-url').inputValue();
  expect(url).toMatch(/#share=[A-Za-z0-9_-]+$/);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
  await page.getByRole('button', { name: 'Done' }).click();

  // After sharing, I keep working on my own copy.
  await typeInEditor(page, '#sharedversion', '#mine');
  await expect(editor).toContainText('#sharedversion#mine');
  await expect(page.getByTestId('save-state')).toHaveText('Saved', { timeout: 5000 });

  // The link, opened in another tab of the same browser (same storage).
  const other = await context.newPage();
  await open(other, new URL(url).hash);
  await expect(other.getByTestId('share-banner')).toContainText('You are looking at a shared workspace');
  const otherEditor = other.locator('.monaco-editor .view-lines');
  await expect(otherEditor).toContainText('#sharedversion');
  await expect(otherEditor).not.toContainText('#mine');
  await other.screenshot({ path: `${SHOTS}/share.png` });

  await other.getByTestId('share-back').click();
  await expect(other.getByTestId('share-banner')).toHaveCount(0);
  await expect(otherEditor).toContainText('#sharedversion#mine');
  expect(new URL(other.url()).hash).toBe('');
});

test('"Keep a copy" asks, then the shared files become my workspace', async ({ page }) => {
  await open(page, shareHash([['Dockerfile', 'FROM busybox\n#fromthelink\n'], ['notes.txt', 'hi\n']], { tag: 'shared' }));
  await expect(page.getByTestId('share-banner')).toBeVisible();
  await expect(page.getByTestId('tag-input')).toHaveValue('shared');
  await page.getByTestId('share-keep').click();
  await expect(page.getByTestId('share-banner')).toContainText('Replace your own workspace');
  await page.getByTestId('share-keep-confirm').click();
  await expect(page.getByTestId('share-banner')).toHaveCount(0);
  await expect(page.getByTestId('save-state')).toHaveText('Saved', { timeout: 5000 });
  // It is my workspace now: it survives a reload without the link.
  await open(page);
  await expect(page.locator('.monaco-editor .view-lines')).toContainText('#fromthelink');
  await expect(page.getByRole('button', { name: 'notes.txt', exact: true })).toBeVisible();
});

test('a malformed or dangerous share link says so and loads nothing', async ({ page }) => {
  await open(page, '#share=this-is-not!a-link');
  await expect(page.getByTestId('share-error')).toContainText('could not be opened');
  await expect(page.getByTestId('share-error')).toContainText('damaged');
  await expect(page.getByTestId('share-banner')).toHaveCount(0);
  await expect(page.locator('.monaco-editor .view-lines')).toContainText('FROM busybox');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });

  // A path that climbs out of the build context.
  await open(page, shareHash([['../../etc/passwd', 'x']]));
  await expect(page.getByTestId('share-error')).toContainText('file path');
  await expect(page.getByRole('button', { name: 'passwd' })).toHaveCount(0);
});

test('a multi-stage Dockerfile is drawn as a stage graph', async ({ page }) => {
  await open(page, shareHash([['Dockerfile', MULTI_STAGE], ['hello.sh', 'echo hello\n']]));
  await page.getByTestId('share-keep').click();
  await page.getByTestId('share-keep-confirm').click();
  await page.getByTestId('stages-tab').click();
  const graph = page.getByTestId('stage-graph');
  await expect(graph.getByTestId('stage-box')).toHaveCount(3);
  await expect(graph.locator('[data-role="builder"]')).toContainText('build');
  await expect(graph.locator('[data-role="skipped"]')).toContainText('skipped: not needed by the final stage');
  await expect(graph.locator('[data-role="final"]')).toContainText('in the final image');
  await expect(graph.getByTestId('stage-arrow')).toHaveCount(2);
  await expect(graph.locator('[data-role="final"]').getByTestId('stage-copy')).toContainText('build: /src/hello.sh /src/version.txt');
  await expect(graph.getByTestId('stage-final')).toContainText('copied to /usr/local/bin/');
  await page.screenshot({ path: `${SHOTS}/stages.png` });
  // A one-stage Dockerfile offers no graph.
  await page.getByRole('tab', { name: 'Layers' }).click();
  await expect(page.getByTestId('layer-stack').or(page.getByText('No image yet'))).toBeVisible();
});

test('export an image as a tar, import it back', async ({ page }) => {
  await open(page);
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
  await page.getByRole('tab', { name: /Images/ }).click();
  const row = page.getByRole('row', { name: /app:latest/ });
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByTestId('export-button').click()]);
  expect(download.suggestedFilename()).toBe('app.tar');
  const bytes = readFileSync((await download.path())!);
  expect(bytes.length % 512).toBe(0);
  expect(bytes.toString('latin1')).toContain('manifest.json');
  await expect(page.locator('.notice.success')).toContainText('docker load -i app.tar');

  // Import it while a build runs: both work, the page stays usable.
  await page.getByTestId('build-button').click();
  await page.getByRole('tab', { name: /Images/ }).click();
  await page.getByTestId('import-file').setInputFiles({ name: 'app.tar', mimeType: 'application/x-tar', buffer: bytes });
  await expect(page.locator('.notice.success').filter({ hasText: 'Loaded app:latest from app.tar' })).toBeVisible();
  await page.getByTestId('import-file').setInputFiles({ name: 'junk.tar', mimeType: 'application/x-tar', buffer: Buffer.from('not a tar at all') });
  await expect(page.locator('.notice.error')).toContainText('Import of junk.tar failed');
});

test('dark theme: toggle, Monaco follows, the choice survives a reload, auto follows the system', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'light' });
  await open(page);
  const html = page.locator('html');
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.getByRole('radio', { name: 'Dark theme' }).click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('.monaco-editor').first()).toHaveClass(/vs-dark/);
  await page.reload();
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('.monaco-editor').first()).toHaveClass(/vs-dark/);
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
  await page.getByTestId('layer').filter({ hasText: 'COPY hello.sh' }).click();
  await page.screenshot({ path: `${SHOTS}/dark.png` });

  await page.getByRole('radio', { name: 'Follow the system theme' }).click();
  await expect(html).toHaveAttribute('data-theme', 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.locator('.monaco-editor').first()).toHaveClass(/vs-dark/);
});
