import { expect, test, type Page } from '@playwright/test';

// Issue 15 on the fixtures backend: the layout at the sizes a learner has (laptop, small laptop, tablet),
// with and without the lesson column.

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

async function open(page: Page, width: number, height: number) {
  await page.setViewportSize({ width, height });
  await page.goto('/?backend=fake&lessons=1');
  await expect(page.locator('.monaco-editor .view-lines')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 15_000 });
}

async function openLessons(page: Page) {
  await page.getByTestId('lessons-button').click();
  await expect(page.getByTestId('lesson-title')).toHaveText('What is an image?', { timeout: 30_000 });
}

/** The element is on screen, whole (not cut by the window's edge). */
async function expectOnScreen(page: Page, testId: string) {
  const box = (await page.getByTestId(testId).boundingBox())!;
  const size = page.viewportSize()!;
  expect(box, testId).not.toBeNull();
  expect(box.y + box.height, `${testId} bottom`).toBeLessThanOrEqual(size.height);
  expect(box.x + box.width, `${testId} right`).toBeLessThanOrEqual(size.width);
  expect(box.y).toBeGreaterThanOrEqual(0);
}

/** Nothing sticks out of the window sideways, and the page itself does not scroll. */
async function expectNoOverflow(page: Page) {
  const { scrollW, scrollH, w, h } = await page.evaluate(() => ({
    scrollW: document.documentElement.scrollWidth,
    scrollH: document.documentElement.scrollHeight,
    w: window.innerWidth,
    h: window.innerHeight,
  }));
  expect(scrollW).toBeLessThanOrEqual(w);
  expect(scrollH).toBeLessThanOrEqual(h);
}

test('at 1280×800 the lesson buttons are on screen', async ({ page }) => {
  await open(page, 1280, 800);
  await openLessons(page);
  await expectOnScreen(page, 'next');
  await expectOnScreen(page, 'rewind-step');
  await expectNoOverflow(page);
  await page.screenshot({ path: `${SHOTS}/lessons-1280x800.png` });
});
