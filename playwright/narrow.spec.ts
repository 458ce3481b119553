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

test('at 800×800 the panes take turns under tabs; nothing overlaps or sticks out', async ({ page }) => {
  await open(page, 800, 800);
  await expectNoOverflow(page);
  // The header fits: its last control is inside the window.
  const toggle = (await page.locator('.top .status').boundingBox())!;
  expect(toggle.x + toggle.width).toBeLessThanOrEqual(800);
  // Files first: the editor has the space under the tabs, the terminal is not drawn over it.
  await expect(page.getByTestId('pane-tabs')).toBeVisible();
  await expect(page.getByTestId('pane-editor')).toHaveAttribute('aria-selected', 'true');
  const editor = (await page.locator('.editor-wrap').boundingBox())!;
  expect(editor.height).toBeGreaterThan(500);
  await expect(page.getByTestId('terminal')).toBeHidden();
  await page.screenshot({ path: `${SHOTS}/free-play-800x800.png` });

  // Terminal: the bottom panel alone, with its own tabs; building brings the Build log forward.
  await page.getByTestId('pane-panels').click();
  await expect(page.getByTestId('terminal')).toBeVisible();
  await expect(page.locator('.editor-wrap')).toBeHidden();
  const terminal = (await page.getByTestId('terminal').boundingBox())!;
  expect(terminal.height).toBeGreaterThan(500);
  await page.getByTestId('pane-editor').click();
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('pane-panels')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('build-log')).toBeVisible();
  await expect(page.getByTestId('build-log')).toContainText(/Built in/);
  await page.screenshot({ path: `${SHOTS}/build-log-800x800.png` });

  // Layers: the picture keeps its size (its text does not grow with the window).
  await page.getByTestId('pane-layers').click();
  await expect(page.getByTestId('layer-stack')).toBeVisible();
  const stack = (await page.getByTestId('layer-stack').boundingBox())!;
  expect(stack.width).toBeLessThanOrEqual(520);
  await expectNoOverflow(page);
  await page.screenshot({ path: `${SHOTS}/layers-800x800.png` });
});

test('with Lessons open at 1024×700 and on a 768 px tablet: the lesson beside a full-size pane', async ({ page }) => {
  for (const [width, height] of [[1024, 700], [768, 1024], [800, 800]] as const) {
    await open(page, width, height);
    await openLessons(page);
    await expectNoOverflow(page);
    await expectOnScreen(page, 'next');
    // Step 1 is about the layer view: it comes forward.
    await expect(page.getByTestId('pane-layers')).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByTestId('layer-stack')).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/lessons-layers-${width}x${height}.png` });
    await page.getByTestId('pane-editor').click();
    const lesson = (await page.getByTestId('lesson-column').boundingBox())!;
    const editor = (await page.locator('.editor-wrap').boundingBox())!;
    // Side by side, and the editor has room (it was ~180 px wide at 1024 with three columns).
    expect(editor.x).toBeGreaterThanOrEqual(lesson.x + lesson.width - 1);
    expect(editor.width).toBeGreaterThan(300);
    expect(editor.height).toBeGreaterThan(height - 200);
    await page.screenshot({ path: `${SHOTS}/lessons-${width}x${height}.png` });
    await page.getByTestId('pane-panels').click();
    await expect(page.getByTestId('terminal')).toBeVisible();
  }
});

test('at 1024×700 without lessons the desktop layout stays', async ({ page }) => {
  await open(page, 1024, 700);
  await expect(page.getByTestId('pane-tabs')).toHaveCount(0);
  await expect(page.getByTestId('terminal')).toBeVisible();
  await expect(page.locator('.editor-wrap')).toBeVisible();
  await expect(page.getByTestId('layer-stack')).toBeVisible();
  await expectNoOverflow(page);
  await page.screenshot({ path: `${SHOTS}/free-play-1024x700.png` });
});
