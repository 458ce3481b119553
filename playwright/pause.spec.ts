import { expect, test } from '@playwright/test';

// A paused container in the app (fake backend): the Containers table shows it Paused with an Unpause
// button, the layer stack keeps its writable layer live, and unpausing brings it back to running.

const SHOTS = process.env.SCREENSHOTS ?? 'test-results';

for (const width of [1280, 800]) {
  test(`pause and unpause from the containers table at ${width}px`, async ({ page }) => {
    await page.setViewportSize({ width, height: 800 });
    await page.goto('/?backend=fake');
    await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 30_000 });
    // Narrow layouts show one pane at a time: the bottom panels live in the Terminal pane.
    if (width < 1024) await page.getByRole('tab', { name: 'Terminal', exact: true }).first().click();
    await page.getByRole('tab', { name: /Containers/ }).click();
    const row = page.getByRole('row').filter({ has: page.getByTestId('state-web') });
    await expect(page.getByTestId('state-web')).toHaveText('running');
    await row.getByRole('button', { name: /Pause/ }).click();
    await expect(page.getByTestId('state-web')).toHaveText('paused');
    await expect(row.getByRole('button', { name: /Unpause/ })).toBeVisible();
    await expect(row.getByRole('button', { name: /Stop/ })).toBeVisible();
    if (width >= 1024) await expect(page.getByTestId('writable-layer').filter({ hasText: 'web' })).not.toHaveClass(/stopped/);
    await page.screenshot({ path: `${SHOTS}/paused-${width}.png` });
    await row.getByRole('button', { name: /Unpause/ }).click();
    await expect(page.getByTestId('state-web')).toHaveText('running');
  });
}
