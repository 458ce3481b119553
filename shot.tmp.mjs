import { chromium } from '@playwright/test';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu'] });
const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
p.on('console', m => { if (m.type() === 'error' || m.type()==='warning') console.log('console', m.type(), m.text()); });
p.on('pageerror', e => console.log('pageerror', e.message));
await p.goto(process.argv[2] ?? 'http://localhost:5199/');
await p.waitForTimeout(4000);
await p.screenshot({ path: '/tmp/shots/a.png' });
await b.close();
