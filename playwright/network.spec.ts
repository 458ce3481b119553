/**
 * The page's VM reaches out through the dev server's relay (/wisp/): a build in the terminal downloads
 * from a Python http.server on this machine via host.docker.internal (allowed by LAYERLAB_NETWORK_ALLOW in
 * playwright.config.ts); a port not allowed is refused, so the build fails.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { answers, RunningServer } from '../src/process/server.ts';

const HTTP_PORT = Number(process.env.LAYERLAB_E2E_PORT ?? 5199) + 2;
let work: string;
let server: RunningServer | undefined;

test.beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'layerlab-e2e-net-'));
  await writeFile(path.join(work, 'hello.txt'), 'hello from the host\n');
  server = await RunningServer.start('python3', ['-m', 'http.server', String(HTTP_PORT), '--bind', '127.0.0.1', '--directory', work], {
    ready: answers(`http://127.0.0.1:${HTTP_PORT}/hello.txt`),
    timeoutMs: 20_000,
  });
});

test.afterAll(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function terminal(page: Page, command: string, expected: string | RegExp, timeout = 60_000) {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(expected, { timeout });
}

test('RUN wget from an allowed host works through the relay; a refused one fails', async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await terminal(
    page,
    `mkdir -p /tmp/n && printf 'FROM busybox\\nRUN wget -q -O /got http://host.docker.internal:${HTTP_PORT}/hello.txt\\n' > /tmp/n/Dockerfile && docker build -q -t fetched /tmp/n && docker run --rm fetched cat /got`,
    'hello from the host',
    180_000,
  );
  await terminal(
    page,
    `printf 'FROM busybox\\nRUN wget -q -O /x http://host.docker.internal:${HTTP_PORT + 1}/\\n' > /tmp/n/Dockerfile && docker build -q /tmp/n`,
    // The page's build error does not name the refusal yet (the dev server's log does); the CLI's does.
    /wget -q -O \/x http:\/\/host.docker.internal:\d+\/" did not complete successfully: exit code: 1/,
    180_000,
  );
});
