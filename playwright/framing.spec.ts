import { expect, test } from '@playwright/test';

// The dev server (`npm start`) sends the framing rule of src/server/headers.ts: a meta-tag CSP cannot.
test('app pages refuse foreign framing; the embed page may be framed', async ({ request }) => {
  for (const path of ['/', '/index.html']) {
    const response = await request.get(path);
    expect(response.ok()).toBe(true);
    expect(response.headers()['content-security-policy']).toBe("frame-ancestors 'self'");
    expect(response.headers()['x-frame-options']).toBe('SAMEORIGIN');
  }
  const embed = await request.get('/embed.html');
  expect(embed.ok()).toBe(true);
  expect(embed.headers()['content-security-policy']).toBeUndefined();
  expect(embed.headers()['x-frame-options']).toBeUndefined();
});
