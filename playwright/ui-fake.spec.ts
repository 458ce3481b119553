import { expect, test, type Page } from '@playwright/test';

// UI-only tests on the fake backend (fixtures): what a learner does with the workspace and layer view.
// Each test gets a fresh browser context, so IndexedDB starts empty.

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

async function open(page: Page, query = '') {
  await page.goto('/?backend=fake' + query.replace(/^\?/, '&'));
  // Monaco is lazy: wait for its text area to exist.
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
}

/** Click at the end of the editor line holding `anchor`, then type (view-line DOM order is not line order). */
async function typeInEditor(page: Page, anchor: string, text: string) {
  const target = page.locator('.monaco-editor .view-line', { hasText: anchor }).first();
  await target.click();
  await page.keyboard.press('End');
  await page.keyboard.type(text);
}

/** Move the mouse onto editor text in small steps (Monaco's hover wants real mouse movement). */
async function hoverText(page: Page, text: string) {
  const box = (await page.locator('.monaco-editor .view-line', { hasText: text }).first().getByText(text).first().boundingBox())!;
  await page.mouse.move(box.x + 4, box.y + box.height / 2, { steps: 6 });
}

test('boot, then the default workspace and its image show', async ({ page }) => {
  await open(page);
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
  await expect(page.getByRole('button', { name: 'Dockerfile', exact: true })).toBeVisible();
  await expect(page.getByTestId('layer')).toHaveCount(5);
  await expect(page.getByTestId('writable-layer')).toHaveCount(2);
  await page.screenshot({ path: `${SHOTS}/workspace.png` });
});

test('a bad instruction gets a diagnostic as you type', async ({ page }) => {
  await open(page);
  await typeInEditor(page, 'CMD', '\nFROB something');
  await expect(page.locator('.monaco-editor .squiggly-error').first()).toBeVisible();
  await expect(page.locator('.status .diag .e')).toContainText('1');
  // Hover docs come from the language service.
  const hover = page.locator('.monaco-hover:not(.hidden)');
  await page.keyboard.press('Escape');
  await hoverText(page, 'FROB');
  await expect(hover).toContainText(/unknown instruction/i);
  await page.screenshot({ path: `${SHOTS}/diagnostic.png` });
  await page.keyboard.press('Escape');
  await hoverText(page, 'WORKDIR');
  await expect(hover).toContainText(/working directory/i);
});

test('clicking a layer shows its files, and merged view shows everything up to it', async ({ page }) => {
  await open(page);
  await page.getByTestId('layer').filter({ hasText: 'COPY hello.sh' }).click();
  const tree = page.getByTestId('layer-files');
  await expect(tree).toBeVisible();
  await expect(tree.getByRole('treeitem', { name: /hello\.sh, added/ })).toBeVisible();
  await page.getByRole('radio', { name: 'Merged view up to here' }).click();
  await expect(tree.getByRole('treeitem', { name: /busybox/ })).toBeVisible();
  // Keyboard: focus the stack, move down one layer, select it.
  await page.getByTestId('layer-stack').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(page.locator('.details .title code')).toHaveText('WORKDIR /app');
});

test('the wasteful image shows a whiteout and wasted bytes', async ({ page }) => {
  await open(page);
  await page.getByTestId('image-select').selectOption({ label: 'wasteful:latest' });
  await page.getByTestId('layer').filter({ hasText: 'RUN rm' }).click();
  await expect(page.getByTestId('layer-files').getByRole('treeitem', { name: /big\.tar\.gz, deleted \(whiteout\)/ })).toBeVisible();
  await expect(page.getByTestId('wasted')).toContainText('4.2 MB');
  await page.screenshot({ path: `${SHOTS}/whiteout.png` });
});

test('build the edited Dockerfile: log, decorations, new layer', async ({ page }) => {
  await open(page);
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('build-log')).toContainText(/Built in/);
  await typeInEditor(page, 'RUN chmod', '\nRUN echo hi > /greeting.txt');
  await page.keyboard.press('Control+Enter');
  await expect(page.getByTestId('build-log')).toContainText(/Built in/);
  await expect(page.getByTestId('build-log')).toContainText('CACHED');
  await expect(page.getByTestId('layer').filter({ hasText: 'RUN echo hi' })).toBeVisible();
  await expect(page.locator('.ll-after-rebuilt').first()).toBeVisible();
  // Clicking a step in the log highlights its line in the editor.
  await page.getByRole('button', { name: /RUN echo hi/ }).click();
  await expect(page.locator('.ll-line-highlight')).toHaveCount(1);
  await page.screenshot({ path: `${SHOTS}/build.png` });
});

test('containers panel: run an image, see its writable layer fill in', async ({ page }) => {
  await open(page);
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
  await page.getByRole('tab', { name: /Images/ }).click();
  await page.getByRole('row', { name: /app:latest/ }).getByRole('button', { name: /Run/ }).click();
  await expect(page.getByRole('tab', { name: /Containers/ })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('writable-layer')).toHaveCount(3);
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type('touch /tmp/hello.txt\r');
  await expect(page.getByTestId('writable-layer').filter({ hasText: '1 change' }).first()).toBeVisible();
  await page.getByRole('tab', { name: /Containers/ }).click();
  await page.getByTestId('writable-layer').filter({ hasText: 'web' }).click();
  await expect(page.getByTestId('layer-files').getByRole('treeitem', { name: /notes\.txt, added/ })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/containers.png` });
});

test('edits survive a reload', async ({ page }) => {
  await open(page);
  await typeInEditor(page, 'CMD', '\nENV KEPT=yes');
  await expect(page.getByTestId('save-state')).toHaveText('Saved', { timeout: 5000 });
  await page.reload();
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
  await expect(page.locator('.monaco-editor .view-lines')).toContainText('ENV KEPT=yes');
});

test('files: create, rename, delete; binary and huge files are handled', async ({ page }) => {
  await open(page);
  await page.getByTestId('new-file').click();
  await page.getByLabel('New file name').fill('app.py');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'app.py', exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'app.py', exact: true }).dblclick();
  await page.getByLabel('New name for app.py').fill('main.py');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'main.py', exact: true })).toBeVisible();
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete main.py' }).click();
  await expect(page.getByRole('button', { name: 'main.py', exact: true })).toHaveCount(0);

  // Drop a binary file and a 6 MB file onto the file list.
  const drop = async (name: string, bytes: number[] | number) => {
    const dt = await page.evaluateHandle(
      ({ name, bytes }) => {
        const data = typeof bytes === 'number' ? new Uint8Array(bytes) : new Uint8Array(bytes);
        const dt = new DataTransfer();
        dt.items.add(new File([data], name));
        return dt;
      },
      { name, bytes },
    );
    await page.locator('nav.files').dispatchEvent('drop', { dataTransfer: dt });
  };
  await drop('logo.png', [0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]);
  await expect(page.getByText(/logo\.png is a binary file/)).toBeVisible();
  await drop('huge.bin', 6 * 1024 * 1024);
  await expect(page.getByText(/huge\.bin is 6\.0 MB; the workspace takes files up to 5 MB/)).toBeVisible();
});

test('boot shows named steps', async ({ page }) => {
  await page.goto('/?backend=fake&boot=slow');
  await expect(page.getByTestId('boot-overlay')).toContainText(/Downloading VM \(\d/);
  await expect(page.getByTestId('boot-overlay').getByRole('progressbar')).toBeVisible();
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
  await page.screenshot({ path: `${SHOTS}/boot.png` });
});

test('Monaco waits for the VM, unless the learner clicks the file text to edit now', async ({ page }) => {
  await page.goto('/?backend=fake&boot=slow');
  await expect(page.getByText('The editor loads once the VM is up')).toBeVisible();
  await page.waitForTimeout(1000);
  await expect(page.locator('.monaco-editor')).toHaveCount(0);
  await page.locator('pre', { hasText: 'WORKDIR /app' }).click();
  // Loading starts on the click (without it, only when the VM is up or after 8 s).
  await expect(page.getByText('Loading editor')).toBeVisible({ timeout: 3_000 });
  await expect(page.getByTestId('status')).not.toHaveText('Ready');
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
});

test('boot failure says what failed and keeps the page usable', async ({ page }) => {
  await open(page, '?boot=fail');
  await expect(page.getByTestId('boot-overlay')).toContainText('The VM could not be downloaded', { timeout: 15_000 });
  await expect(page.getByTestId('boot-overlay')).toContainText('HTTP 404');
  await expect(page.getByTestId('status')).toHaveText('VM unavailable');
  await expect(page.locator('.monaco-editor')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/boot-error.png` });
});
