import { defineConfig } from '@playwright/test';

// Browser tests run against the Vite dev server: the real app (VM in a worker) and UI-only pages on fixtures.
// LAYERLAB_E2E_PORT lets several checkouts run their browser tests side by side.
const port = Number(process.env.LAYERLAB_E2E_PORT ?? 5199);

export default defineConfig({
  testDir: 'playwright',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${port}`,
    viewport: { width: 1280, height: 800 },
    headless: true,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    },
  },
  webServer: {
    // --force: dependencies pre-bundled afresh at start, so a dependency found mid-test (Monaco's step imports)
    // cannot make Vite re-bundle and reload the page under a running test.
    command: `npx vite --port ${port} --strictPort --force`,
    url: `http://localhost:${port}`,
    reuseExistingServer: true,
    timeout: 60_000,
    // The registry tests start a registry on the next port; the dev server's proxy must allow it.
    // network.spec.ts serves files on port + 2 for the VM to fetch through the relay.
    env: { LAYERLAB_REGISTRIES_EXTRA: `127.0.0.1:${port + 1}`, LAYERLAB_NETWORK_ALLOW: `host.docker.internal:${port + 2}` },
  },
});
