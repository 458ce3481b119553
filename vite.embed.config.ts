import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The embed loader alone (`dist/embed.js`): one small classic script, no framework, that a docs page
 * includes with a single tag. Runs after the main build (`npm run build`), into the same dist/.
 */
export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    minify: true,
    sourcemap: false,
    lib: {
      entry: fileURLToPath(new URL('./src/embed/loader.ts', import.meta.url)),
      formats: ['iife'],
      name: 'LayerlabEmbed',
      fileName: () => 'embed.js',
    },
  },
});
