import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { defineConfig, transformWithOxc, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { pageSecurityHeaders } from './src/server/headers.ts';
import { layerlabServerPlugin } from './src/server/vite-plugin.ts';
import { monacoSteps } from './src/ui/editor/vite-monaco-steps.ts';

/**
 * `/embed.js` in development: the loader compiled on request, so host pages (and the embed tests) use the
 * same URL as on the built site, where `vite build --config vite.embed.config.ts` writes it.
 */
function embedLoaderInDev(): Plugin {
  return {
    name: 'layerlab-embed-loader-dev',
    configureServer(server) {
      server.middlewares.use('/embed.js', (req, res, next) => {
        server
          .transformRequest('/src/embed/loader.ts')
          .then((result) => {
            if (!result) return next();
            res.setHeader('Content-Type', 'text/javascript');
            res.setHeader('Cache-Control', 'no-cache');
            // The loader imports only types, so what is left is a script; drop the module marker TS adds.
            res.end(result.code.replace(/^export \{\s*\};?\s*$/m, ''));
          })
          .catch(next);
      });
    },
  };
}

/**
 * The preview Service Worker (src/preview/sw.ts) at `preview/sw.js`: there, its default scope is `preview/`,
 * so it only ever sees preview requests. Compiled on request in development, emitted as a file on build.
 */
function previewServiceWorker(): Plugin {
  const source = fileURLToPath(new URL('./src/preview/sw.ts', import.meta.url));
  return {
    name: 'layerlab-preview-sw',
    configureServer(server) {
      server.middlewares.use('/preview/sw.js', (_req, res, next) => {
        server
          .transformRequest('/src/preview/sw.ts')
          .then((result) => {
            if (!result) return next();
            res.setHeader('Content-Type', 'text/javascript');
            res.setHeader('Cache-Control', 'no-cache');
            res.end(result.code.replace(/^export \{\s*\};?\s*$/m, ''));
          })
          .catch(next);
      });
    },
    async generateBundle() {
      const code = await readFile(source, 'utf8');
      const { code: js } = await transformWithOxc(code, source, { lang: 'ts', target: 'es2022' });
      this.emitFile({ type: 'asset', fileName: 'preview/sw.js', source: js.replace(/^export \{\s*\};?\s*$/m, '') });
    },
  };
}

/**
 * A Content-Security-Policy for the built pages (not the dev server, whose HMR client is inline). Scripts
 * only from our origin, plus compiling WebAssembly (v86 compiles the emulator and its JIT output at run
 * time); no plugins, no inline scripts, no eval. The embed page may fetch files from other origins when an
 * author points it at them (`files-url`), so it alone allows https: connections.
 */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'layerlab-csp',
    apply: 'build',
    transformIndexHtml(_html, context) {
      const embed = context.filename.endsWith('embed.html') && !context.filename.includes('docs');
      const policy = [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        `connect-src 'self'${embed ? ' https:' : ''}`,
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
      ].join('; ');
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: policy }, injectTo: 'head-prepend' }];
    },
  };
}

/** Framing headers (frame-ancestors, X-Frame-Options) on the dev server's responses; see src/server/headers.ts. */
function framingHeaders(): Plugin {
  return {
    name: 'layerlab-framing-headers',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        for (const [name, value] of Object.entries(pageSecurityHeaders(req.url ?? '/'))) res.setHeader(name, value);
        next();
      });
    },
  };
}

// The VM assets (public/vm/) are build outputs of `npm run build:vm`, served as static files.
export default defineConfig({
  plugins: [svelte(), embedLoaderInDev(), previewServiceWorker(), contentSecurityPolicy(), framingHeaders(), layerlabServerPlugin(), monacoSteps()],
  resolve: {
    alias: {
      // dockerfile-language-service's registry client requires Node's https (Docker Hub tag lookups);
      // in the browser it gets a stub that fails fast. See src/ui/editor/https-stub.ts.
      https: fileURLToPath(new URL('./src/ui/editor/https-stub.ts', import.meta.url)),
    },
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // The app, the embed page (an iframe for other sites) and the embed demo page.
    rollupOptions: {
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        embed: fileURLToPath(new URL('./embed.html', import.meta.url)),
        'embed-demo': fileURLToPath(new URL('./docs/embed.html', import.meta.url)),
      },
    },
  },
  worker: { format: 'es' },
  server: {
    port: 5173,
    strictPort: false,
    // Tests and benchmarks write screenshots and results here; a change must not reload open pages.
    watch: { ignored: ['**/docs/screenshots/**', '**/test-results/**', '**/playwright-report/**', '**/bench/results/**', '**/public/vm/**'] },
  },
  preview: { port: 4173 },
});
