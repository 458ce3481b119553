import { expect, test, type Page } from '@playwright/test';

// Published ports in the app: the Ports panel, its preview (a Service Worker relays requests to the VM),
// and containers talking to each other by name.

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

async function terminal(page: Page, command: string, expected: string | RegExp, timeout = 90_000) {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(expected, { timeout });
}

test.describe('on fixtures', () => {
  test('the Ports panel previews a published port in the page and in a new tab', async ({ page, context }) => {
    await page.goto('/?backend=fake');
    await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 30_000 });
    await page.getByRole('tab', { name: /Ports/ }).click();
    await expect(page.getByRole('tabpanel', { name: /Ports/ })).toContainText('0.0.0.0:8080');
    await page.getByTestId('preview-8080').click();
    const frame = page.frameLocator('[data-testid="preview-frame"]');
    await expect(frame.locator('h1')).toContainText('Hello from', { timeout: 20_000 });
    await expect(frame.locator('p')).toHaveText('GET /');
    await page.screenshot({ path: `${SHOTS}/ports-preview.png` });
    await page.setViewportSize({ width: 800, height: 800 });
    await page.screenshot({ path: `${SHOTS}/ports-preview-narrow.png` });

    const [tab] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: /Open in new tab/ }).first().click()]);
    await expect(tab.locator('h1')).toContainText('Hello from', { timeout: 20_000 });
    expect(new URL(tab.url()).pathname).toBe('/preview/8080/');

    // A port nothing publishes gets a page that says so, not a blank one.
    const shown = await tab.goto('/preview/9999/');
    expect(shown?.status()).toBe(502);
    await expect(tab.locator('h1')).toHaveText('Nothing is published on port 9999');
  });
});

test.describe('in the VM', () => {
  test.setTimeout(300_000);

  test('a web server in a container: its preview from the Ports panel; another container reaches it by name', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
    await terminal(page, 'docker network create demo && echo made-$((40+2))', 'made-42');
    await terminal(
      page,
      `docker run -d --name site --network demo -p 8080:8000 busybox sh -c 'mkdir /www && echo "<h1>served-from-site</h1>" > /www/index.html && exec httpd -f -p 8000 -h /www'`,
      /[0-9a-f]{64}/,
    );
    await page.getByRole('tab', { name: /Ports/ }).click();
    await page.getByTestId('preview-8080').click();
    const frame = page.frameLocator('[data-testid="preview-frame"]');
    await expect(async () => {
      await page.getByRole('button', { name: /Reload/ }).click();
      await expect(frame.locator('h1')).toHaveText('served-from-site', { timeout: 5_000 });
    }).toPass({ timeout: 90_000 });
    await page.screenshot({ path: `${SHOTS}/ports-preview-vm.png` });
    await terminal(page, 'docker run --rm --network demo busybox wget -q -O - http://site:8000/', '<h1>served-from-site</h1>');
    await terminal(page, 'docker ps', '0.0.0.0:8080->8000/tcp');
  });
});
