import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The VM assets (public/vm/) are build outputs of `npm run build:vm`, served as static files.
export default defineConfig({
  plugins: [svelte()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
});
