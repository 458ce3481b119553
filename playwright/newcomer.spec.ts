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
