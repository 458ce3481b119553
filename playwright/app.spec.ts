import { expect, test, type Page } from '@playwright/test';

// The real app: the VM restored in Chromium (in a worker), the engine, the terminal. What a learner does.

const SHOTS = process.env.SCREENSHOTS ?? 'docs/screenshots';

// Each test restores a VM in Chromium; builds and reloads take a while under emulation.
test.setTimeout(180_000);

async function openApp(page: Page) {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
}

/**
 * Types a command into the VM terminal and waits for `expected` on screen. The shell echoes what is typed,
 * so `expected` must be something only the command's output contains (e.g. `echo done-$((40+2))`).
 */
async function terminal(page: Page, command: string, expected: string | RegExp, timeout = 60_000) {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(expected, { timeout });
}

test('the VM shell answers in the terminal', async ({ page }) => {
  await openApp(page);
  await terminal(page, 'echo $((6 * 7)) from $(uname -m)', '42 from i686');
});

test('build the workspace, see its layers, run it and watch the writable layer, then reload', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('build-button').click();
  await expect(page.getByTestId('build-log')).toContainText(/Built in/, { timeout: 90_000 });
  // The default workspace builds an image whose stack shows the busybox base and its own layers.
  await expect(page.getByTestId('layer').first()).toBeVisible();
  const layers = await page.getByTestId('layer').count();
  expect(layers).toBeGreaterThanOrEqual(3);
  await page.getByTestId('layer').filter({ hasText: /COPY/ }).first().click();
  await expect(page.getByTestId('layer-files').getByRole('treeitem').first()).toBeVisible();

  // A container from the terminal: its writable layer appears over the stack and fills in live.
  await terminal(page, 'docker run -d --name web app sleep 600', /[0-9a-f]{64}/);
  await expect(page.getByTestId('writable-layer').filter({ hasText: 'web' })).toBeVisible({ timeout: 20_000 });
  await terminal(page, 'docker exec web touch /tmp/made-in-web && echo touched-$((40+2))', 'touched-42');
  await expect(page.getByTestId('writable-layer').filter({ hasText: 'web' })).toContainText(/change/, { timeout: 20_000 });
  await terminal(page, 'docker diff web', 'A /tmp/made-in-web');
  await page.screenshot({ path: `${SHOTS}/real-app.png` });

  // Reload: the workspace, the image and the stopped container are still there.
  await terminal(page, 'docker stop -t 1 web && echo stopped-$((40+2))', 'stopped-42');
  await page.reload();
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await terminal(page, 'docker ps -a', /Exited \(\d+\).*web/);
  await terminal(page, 'docker diff web', 'A /tmp/made-in-web');
});

test('docker run -it gives an interactive shell in a container; its files show in the writable layer', async ({ page }) => {
  await openApp(page);
  await terminal(page, 'docker run -it --name box busybox sh', '/ #', 30_000);
  await terminal(page, 'echo inside > /note.txt; hostname', /[0-9a-f]{12}/);
  await expect(page.getByTestId('writable-layer').filter({ hasText: 'box' })).toContainText(/change/, { timeout: 20_000 });
  await terminal(page, 'exit', /root@layerlab/);
  await terminal(page, 'docker diff box', 'A /note.txt');
  await terminal(page, 'docker rm box && echo removed-$((40+2))', 'removed-42');
  await expect(page.getByTestId('writable-layer').filter({ hasText: 'box' })).toHaveCount(0);
});

test('a VM that stops answering is restarted by the watchdog; images and the workspace survive', async ({ page }) => {
  await page.goto('/?test-hooks');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await terminal(page, 'docker build -q -t kept . && echo built-$((40+2))', 'built-42', 90_000);
  await page.evaluate(() => (window as unknown as { __layerlabBackend: { simulateHang(): Promise<void> } }).__layerlabBackend.simulateHang());
  await expect(page.getByText(/restarting it from its snapshot/)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/The VM was restarted/)).toBeVisible({ timeout: 60_000 });
  await terminal(page, "docker image inspect kept -f '{{.Id}}'", /sha256:[0-9a-f]{64}/);
});

test('a second tab on the same store is told so', async ({ page, context }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await expect(second.getByText(/Layerlab is open in another tab too/)).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText(/Layerlab is open in another tab too/)).toHaveCount(0);
});

test('the VM dies in the middle of a build: the build fails cleanly, no half image, the next build works', async ({ page }) => {
  await page.goto('/?test-hooks');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await terminal(page, "mkdir -p /tmp/b && printf 'FROM busybox\\nRUN echo one > /one\\nRUN sleep 30\\n' > /tmp/b/Dockerfile && echo ready-$((40+2))", 'ready-42');
  await page.keyboard.type('docker build -t midway /tmp/b\n');
  await expect(page.getByTestId('terminal').locator('.xterm-rows')).toContainText(/#\d+ \[3\/3\] RUN sleep 30/, { timeout: 60_000 });
  await page.evaluate(() => (window as unknown as { __layerlabBackend: { simulateHang(): Promise<void> } }).__layerlabBackend.simulateHang());
  await expect(page.getByText(/The VM was restarted/)).toBeVisible({ timeout: 60_000 });
  await terminal(page, 'docker image inspect midway || echo missing-$((40+2))', 'missing-42');
  // The VM came back from its snapshot: /tmp/b is gone with the old VM; the image store is not.
  await terminal(page, "mkdir -p /tmp/b && printf 'FROM busybox\\nRUN echo two > /two\\n' > /tmp/b/Dockerfile && docker build -q -t after /tmp/b && echo built-$((40+2))", 'built-42', 90_000);
});
