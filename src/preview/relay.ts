/**
 * The page side of the preview (src/preview/sw.ts): registers the Service Worker and answers its relayed
 * requests with the engine's `fetchPort`. Any Layerlab page that runs the engine can serve previews.
 */
import type { PortHttpRequest, PortHttpResponse } from '../engine/api.ts';

export const PREVIEW_REQUEST = 'layerlab-preview-request';

/** `preview/8080/` relative to the app: what the Ports panel opens. */
export function previewUrl(port: number, base = document.baseURI): string {
  return new URL(`preview/${port}/`, base).href;
}

export function startPreviewRelay(fetchPort: (request: PortHttpRequest) => Promise<PortHttpResponse>): { ready: Promise<boolean> } {
  if (!('serviceWorker' in navigator)) return { ready: Promise.resolve(false) };
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: string; request?: PortHttpRequest } | null;
    const reply = event.ports[0];
    if (data?.type !== PREVIEW_REQUEST || !data.request || !reply) return;
    fetchPort(data.request).then(
      (response) => reply.postMessage({ response }, [response.body.buffer as ArrayBuffer]),
      (error: Error) => reply.postMessage({ error: error.message, unknownPort: /publishing port/.test(error.message) }),
    );
  });
  navigator.serviceWorker.startMessages();
  const ready = navigator.serviceWorker
    .register(new URL('preview/sw.js', document.baseURI), { scope: new URL('preview/', document.baseURI).pathname })
    // `serviceWorker.ready` is for the page's own scope, which this worker does not cover: watch it directly.
    .then((registration) => registration.active !== null || untilActivated(registration.installing ?? registration.waiting))
    .catch((error: Error) => {
      console.warn(`layerlab: the preview Service Worker could not be registered: ${error.message}`);
      return false;
    });
  return { ready };
}

function untilActivated(worker: ServiceWorker | null): Promise<boolean> {
  if (!worker) return Promise.resolve(false);
  return new Promise((resolve) => {
    worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve(true);
      if (worker.state === 'redundant') resolve(false);
    });
  });
}
