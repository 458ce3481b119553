import { expect, test, type Page } from '@playwright/test';

// Issue 15, "the app as a newcomer meets it": UI-only checks on the fake backend (fixtures).

async function open(page: Page, query = '') {
  await page.goto('/?backend=fake' + query.replace(/^\?/, '&'));
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
}

test('relative times are Docker\'s and keep ticking', async ({ page }) => {
  await page.clock.install();
  await open(page);
  await page.getByRole('tab', { name: /Images/ }).click();
  // The fixture image was made an hour before the page opened: go-units says "About an hour ago".
  await expect(page.getByTestId('created').first()).toHaveText('About an hour ago');
  await page.getByRole('row', { name: /app:latest/ }).getByRole('button', { name: /Run/ }).click();
  await expect(page.getByTestId('status-web')).toHaveText(/^Up (\d+ seconds|About a minute)$/);
  // No engine update in between: the status still moves on.
  await page.clock.fastForward('09:00');
  await expect(page.getByTestId('status-web')).toHaveText(/^Up (9|10) minutes$/);
  await page.clock.fastForward(700 * 24 * 3600_000);
  await page.getByRole('tab', { name: /Images/ }).click();
  await expect(page.getByTestId('created').first()).toHaveText('23 months ago');
});

test('build notes belong to the built text: an edit or a replaced file clears them', async ({ page }) => {
  await open(page);
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('build-log')).toContainText(/Built in/);
  await expect(page.locator('.ll-after').first()).toBeVisible();
  // Replace the whole text: no note survives onto the new lines, and nothing scrolls sideways.
  await page.locator('.monaco-editor .view-line').first().click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('FROM busybox\nCOPY hello.txt /\n');
  await expect(page.locator('.ll-after')).toHaveCount(0);
  const scroll = await page.locator('.monaco-editor .monaco-scrollable-element').first().evaluate((e) => e.scrollLeft);
  expect(scroll).toBe(0);
  // Build the new text: its own notes, one per line that has one.
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('build-log')).toContainText(/Built in|failed/i);
  await expect(page.locator('.ll-after').first()).toBeVisible();
  expect(await page.locator('.ll-after').count()).toBeLessThanOrEqual(2);
});

test('the embed page: no missing favicon', async ({ page }) => {
  const missing: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 404) missing.push(r.url());
  });
  await page.goto('/docs/embed.html');
  const frames = page.locator('layerlab-sandbox');
  await expect(frames.first()).toBeAttached({ timeout: 20_000 });
  await page.evaluate(async () => {
    await customElements.whenDefined('layerlab-sandbox');
    for (const el of document.querySelectorAll('layerlab-sandbox')) (el as HTMLElement & { start(): void }).start();
  });
  await expect(page.locator('layerlab-sandbox').first().locator('iframe')).toHaveCount(1);
  await page.waitForLoadState('load');
  expect(missing.filter((u) => /favicon/.test(u))).toEqual([]);
});

test('a lesson begun after free play offers one click to remove the containers it would count', async ({ page }) => {
  await page.goto('/?backend=fake&lessons=1');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 30_000 });
  // Free play left two containers (the fixtures' web and worker).
  await expect(page.getByRole('tab', { name: /Containers/ }).locator('.count')).toHaveText('2');
  await page.getByTestId('lessons-button').click();
  await expect(page.getByTestId('lesson-title')).toHaveText('What is an image?', { timeout: 30_000 });
  const notice = page.getByTestId('lesson-leftovers');
  await expect(notice).toContainText('2 containers from before this lesson are still here: web, worker');
  await page.screenshot({ path: 'docs/screenshots/lesson-leftovers-1280x800.png' });
  await page.getByTestId('clean-up-lesson').click();
  await expect(notice).toHaveCount(0);
  await expect(page.getByRole('tab', { name: /Containers/ }).locator('.count')).toHaveCount(0);
});

test('keyboard: the layer stack\'s cursor looks unlike its selection; Tab leaves the file tree for the editor', async ({ page }) => {
  await open(page);
  // Tab from the last control of the file tree goes on to the editor, not to the page's <body>.
  await page.getByRole('button', { name: /^Delete hello\.sh$/ }).focus();
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return el && el !== document.body ? (el.closest('.monaco-editor') ? 'editor' : el.tagName + '.' + el.className) : 'body';
  });
  expect(focused).toBe('editor');
  // A new file named with Enter, and a rename left with Escape: the keyboard stays in the tree.
  const active = () => page.evaluate(() => (document.activeElement === document.body ? 'body' : document.activeElement?.getAttribute('data-path') ?? document.activeElement?.tagName));
  await page.getByTestId('new-file').click();
  await page.keyboard.type('notes.txt');
  await page.keyboard.press('Enter');
  expect(await active()).toBe('notes.txt');
  await page.keyboard.press('F2');
  await page.keyboard.press('Escape');
  expect(await active()).toBe('notes.txt');
  await page.keyboard.press('Tab');
  expect(await active()).not.toBe('body');

  // The stack: the cursor moves with the arrows, the selection stays where Enter put it; they differ to the eye.
  const stack = page.getByTestId('layer-stack');
  await stack.focus();
  await page.keyboard.press('ArrowDown');
  const cursor = stack.locator('.item.focus');
  const selected = stack.locator('.item.selected');
  await expect(cursor).toHaveCount(1);
  await expect(selected).toHaveCount(1);
  expect(await cursor.getAttribute('id')).not.toBe(await selected.getAttribute('id'));
  const look = (item: typeof cursor) =>
    item.evaluate((g) => {
      const shapes = [...g.querySelectorAll('rect')].map((r) => getComputedStyle(r));
      return shapes.map((s) => `${s.stroke}|${s.strokeWidth}|${s.strokeDasharray}`).join(';');
    });
  const [cursorLook, selectedLook] = [await look(cursor), await look(selected)];
  // The cursor has a dashed ring of its own; the selection has none.
  expect(cursorLook).toMatch(/\dpx, \d/);
  expect(selectedLook.split(';').filter((s) => /\dpx, \d/.test(s))).toEqual([]);
  await page.screenshot({ path: 'docs/screenshots/layer-cursor-1280x800.png', clip: (await stack.boundingBox())! });
});

test('first load: the image picker and the layer picture agree while the layers are read', async ({ page }) => {
  // The fixtures answer slowly, and the first answer is "not found", as a starting engine's can be.
  await page.goto('/?backend=fake&slowImages=1500');
  const picker = page.getByTestId('image-select');
  await expect(picker).toBeVisible({ timeout: 30_000 });
  const chosen = await picker.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent);
  expect(chosen).toBeTruthy();
  // Never "No image yet" next to a picker that names one: it says it is reading that image...
  await expect(page.getByText('No image yet')).toHaveCount(0);
  await expect(page.getByTestId('image-loading')).toContainText(chosen!);
  await page.screenshot({ path: 'docs/screenshots/image-loading-1280x800.png' });
  // ...and then shows it, though the first read found nothing.
  await expect(page.getByTestId('layer').first()).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText('No image yet')).toHaveCount(0);
});

test('the embed page: no sandbox the browser says can be escaped, and cross-origin frames keep theirs', async ({ page }) => {
  const warnings: string[] = [];
  page.on('console', (m) => {
    if (/escape its sandboxing/i.test(m.text())) warnings.push(m.text());
  });
  await page.goto('/docs/embed.html');
  await expect(page.locator('layerlab-sandbox').first()).toBeAttached({ timeout: 20_000 });
  await page.evaluate(async () => {
    await customElements.whenDefined('layerlab-sandbox');
    for (const el of document.querySelectorAll('layerlab-sandbox')) (el as HTMLElement & { start(): void }).start();
  });
  const frames = page.locator('layerlab-sandbox iframe');
  await expect(frames.first()).toBeAttached();
  await expect(page.frameLocator('layerlab-sandbox iframe >> nth=0').locator('body')).toBeAttached({ timeout: 20_000 });
  await page.waitForTimeout(1000);
  expect(warnings).toEqual([]);
  // Same origin as the page: no sandbox attribute that could not hold.
  expect(await frames.first().getAttribute('sandbox')).toBeNull();
  // From another origin (127.0.0.1 vs localhost): the sandbox is set.
  const other = page.url().replace('://localhost:', '://127.0.0.1:').replace(/\/docs\/.*$/, '/embed.html');
  const sandbox = await page.evaluate((src) => {
    const el = document.createElement('layerlab-sandbox') as HTMLElement & { start(): void };
    el.setAttribute('src', src);
    el.setAttribute('backend', 'fake');
    document.body.append(el);
    el.start();
    return el.shadowRoot?.querySelector('iframe')?.getAttribute('sandbox') ?? el.querySelector('iframe')?.getAttribute('sandbox') ?? null;
  }, other);
  expect(sandbox).toContain('allow-scripts');
});
