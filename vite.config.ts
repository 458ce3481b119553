import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The VM assets (public/vm/) are build outputs of `npm run build:vm`, served as static files.
export default defineConfig({
  plugins: [svelte()],
  resolve: {
    alias: {
      // dockerfile-language-service's registry client requires Node's https (Docker Hub tag lookups);
      // in the browser it gets a stub that fails fast. See src/ui/editor/https-stub.ts.
      https: fileURLToPath(new URL('./src/ui/editor/https-stub.ts', import.meta.url)),
    },
  },
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  preview: { port: 4173 },
});
