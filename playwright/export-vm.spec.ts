import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

// Export and import on the real engine and VM: the tar `docker save` makes, read back by `docker load`.

test.setTimeout(240_000);

test('export an image as a docker-archive tar (also during a build), then import it', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('build-log')).toContainText(/Built in/, { timeout: 120_000 });

  await page.getByRole('tab', { name: /Images/ }).click();
  const row = page.getByRole('row', { name: /app:latest/ });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), row.getByTestId('export-button').click()]);
  expect(download.suggestedFilename()).toBe('app.tar');
  const bytes = readFileSync((await download.path())!);
  const text = bytes.toString('latin1');
  expect(text).toContain('manifest.json');
  expect(text).toContain('"RepoTags":["app:latest"]');

  // Export right after starting another build: the export neither waits for the build nor breaks it.
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('build-button').click();
  await page.getByRole('tab', { name: /Images/ }).click();
  const busybox = page.getByRole('row', { name: /busybox/ }).first();
  const [during] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), busybox.getByTestId('export-button').click()]);
  expect(during.suggestedFilename()).toMatch(/^busybox.*\.tar$/);
  await expect(page.getByTestId('build-log')).toContainText(/Built in/, { timeout: 120_000 });

  // Import the first archive: docker load reads it back.
  await page.getByTestId('import-file').setInputFiles({ name: 'app.tar', mimeType: 'application/x-tar', buffer: bytes });
  await expect(page.locator('.notice.success').filter({ hasText: 'Loaded app:latest from app.tar' })).toBeVisible({ timeout: 60_000 });
});
