import { expect, test, type Page } from '@playwright/test';

// Issue 15 on the real app (VM in Chromium): the build log and the editor's notes.

test.setTimeout(240_000);

async function openApp(page: Page) {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 120_000 });
}

async function terminal(page: Page, command: string, expected: string | RegExp, timeout = 90_000) {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(expected, { timeout });
}

test('the build log: a FROM step, one "writing image", a failed FROM lists nothing after it', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('build-button').click();
  const log = page.getByTestId('build-log');
  await expect(log).toContainText(/Built in/, { timeout: 120_000 });
  await expect(log).toContainText(/\[1\/\d+\] FROM busybox/);
  expect(await log.getByText(/writing image/).count()).toBe(1);

  // A FROM that fails: the later steps are not listed as if they ran.
  await page.locator('.monaco-editor .view-line').first().click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('FROM nosuchimage:1\nWORKDIR /app\nRUN echo never\n');
  await page.getByTestId('build-button').click();
  await expect(log).toContainText('Build failed', { timeout: 60_000 });
  await expect(log).toContainText('Could not pull nosuchimage:1');
  await expect(log).not.toContainText('WORKDIR /app');
  await expect(log).not.toContainText('RUN echo never');
});

test('a build typed in the terminal shows in the Build log tab and as notes in the editor', async ({ page }) => {
  await openApp(page);
  const log = page.getByTestId('build-log');
  // A build typed in the terminal shows in the Build log tab and as notes in the editor.
  await page.locator('.monaco-editor .view-line').first().click();
  await page.keyboard.press('Control+a');
  await page.keyboard.type('FROM busybox\nRUN echo from-terminal > /t.txt\n');
  await page.keyboard.press('Control+s');
  await terminal(page, 'cd /workspace && docker build -t fromterm . && echo built-$((40+2))', 'built-42', 150_000);
  await page.getByRole('tab', { name: 'Build log' }).click();
  // The whole build, to its end: every step, the export, the outcome.
  await expect(log).toContainText('RUN echo from-terminal');
  await expect(log).toContainText(/\[1\/2\] FROM busybox/);
  await expect(log).toContainText(/writing image sha256:[0-9a-f]{12}/);
  await expect(log).toContainText(/Built in/);
  // And the editor's per-line notes for the same text.
  await expect(page.locator('.monaco-editor .ll-after').first()).toBeVisible({ timeout: 10_000 });
  await expect(page.locator('.monaco-editor .ll-after-rebuilt').first()).toBeVisible();
});
