import { chromium } from 'playwright';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('console', (m) => { const t = m.text(); if (t.startsWith('TRACE-RUN')) console.log(t); });
await page.goto('http://localhost:15300/');
await page.locator('[data-testid="terminal"] .xterm-rows', { hasText: '#' }).first().waitFor({ timeout: 120000 });
await page.waitForTimeout(Number(process.argv[3] ?? 3000));
async function typed(command: string, expected: string) {
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command);
  await page.waitForFunction((text) => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes(text), command.slice(-12), { polling: 'raf' });
  const started = Date.now();
  await page.keyboard.press('Enter');
  await page.waitForFunction((text) => document.querySelector('[data-testid="terminal"] .xterm-rows')?.textContent?.includes(text), expected, { polling: 'raf', timeout: 300000 });
  return Date.now() - started;
}
const n = Number(process.argv[2] ?? 6);
for (let i = 0; i < n; i++) console.log('run', i, await typed(`docker run --rm busybox echo $((1000 + ${i}))dr`, `${1000 + i}dr`));
await page.waitForTimeout(1000);
await browser.close();
