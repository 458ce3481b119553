/**
 * `embed.loader_bytes`: the size of the embed loader a docs page includes (dist/embed.js), built fresh
 * with vite.embed.config.ts into a temporary folder, raw and gzipped. Everything heavy loads lazily inside
 * the iframe, so this is what an embed costs a page that never scrolls to it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

export async function benchEmbed(): Promise<Record<string, number>> {
  const outDir = await mkdtemp(join(tmpdir(), 'layerlab-embed-'));
  try {
    await build({
      configFile: fileURLToPath(new URL('../vite.embed.config.ts', import.meta.url)),
      build: { outDir, emptyOutDir: true },
      logLevel: 'silent',
    });
    const code = await readFile(join(outDir, 'embed.js'));
    return {
      'embed.loader_bytes': code.length,
      'embed.loader_gzip_bytes': gzipSync(code, { level: 9 }).length,
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchEmbed(), null, 2));
}
