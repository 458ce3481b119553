/// <reference lib="webworker" />
/**
 * The preview Service Worker, served at `preview/sw.js` with scope `preview/` (so it never sees the app's
 * own requests). A request for `preview/<port>/<path>` is relayed to a Layerlab page of this origin, which
 * holds the engine and the VM (src/preview/relay.ts), and answered with what the container's web server
 * said. No server is involved: it works in static deployments and in embeds.
 */
export {};
declare const self: ServiceWorkerGlobalScope;

const REQUEST_TYPE = 'layerlab-preview-request';
const TIMEOUT_MS = 60_000;

interface RelayResponse {
  response?: { status: number; statusText: string; headers: [string, string][]; body: Uint8Array };
  error?: string;
  /** This page has no engine publishing that port (another page may). */
  unknownPort?: boolean;
}

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const scope = new URL(self.registration.scope);
  const url = new URL(event.request.url);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const match = /^(\d{1,5})(\/.*)?$/.exec(url.pathname.slice(scope.pathname.length));
  if (!match) return;
  const port = Number(match[1]);
  // `preview/8080` → `preview/8080/`, so the page's relative links resolve inside the preview.
  if (!match[2]) return event.respondWith(Response.redirect(`${scope.href}${port}/${url.search}`, 302));
  event.respondWith(relay(event.request, port, match[2] + url.search, `${scope.pathname}${port}`));
});

async function relay(request: Request, port: number, path: string, prefix: string): Promise<Response> {
  const body = ['GET', 'HEAD'].includes(request.method) ? undefined : new Uint8Array(await request.arrayBuffer());
  const headers = [...request.headers].filter(([name]) => !['cookie', 'origin', 'referer'].includes(name));
  const candidates = (await self.clients.matchAll({ type: 'window', includeUncontrolled: true })).filter((c) => !new URL(c.url).pathname.startsWith(new URL(self.registration.scope).pathname));
  if (!candidates.length) return problem(503, 'No Layerlab page is open', 'The preview is served by the Layerlab page that runs the VM. Open Layerlab in another tab, then reload this one.');
  const answers = await Promise.all(candidates.map((client) => ask(client, { port, method: request.method, path, headers, body })));
  const answer = answers.find((a) => a.response) ?? answers.find((a) => a.error && !a.unknownPort) ?? answers[0];
  if (answer.response) {
    const { status, statusText, body: bytes } = answer.response;
    const out = new Headers();
    for (const [name, value] of answer.response.headers) {
      // Redirects to the container's own paths stay inside the preview.
      if (name.toLowerCase() === 'location') out.append(name, value.replace(/^https?:\/\/(localhost|127\.0\.0\.1)(:\d+)?/, '').replace(/^\//, `${prefix}/`));
      else if (!['content-length', 'content-encoding', 'set-cookie'].includes(name.toLowerCase())) out.append(name, value);
    }
    const nullBody = status === 204 || status === 304 || request.method === 'HEAD';
    return new Response(nullBody ? null : (bytes as Uint8Array<ArrayBuffer>), { status, statusText, headers: out });
  }
  if (answer.unknownPort) return problem(502, `Nothing is published on port ${port}`, `No running container publishes port ${port}. Start one with docker run -d -p ${port}:PORT IMAGE, and check docker ps.`);
  return problem(502, `Port ${port} did not answer`, answer.error ?? 'no answer from the Layerlab page');
}

function ask(client: Client, request: { port: number; method: string; path: string; headers: [string, string][]; body?: Uint8Array }): Promise<RelayResponse> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve({ error: `no answer within ${TIMEOUT_MS / 1000} s`, unknownPort: true }), TIMEOUT_MS);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data as RelayResponse);
    };
    client.postMessage({ type: REQUEST_TYPE, request }, [channel.port2]);
  });
}

function problem(status: number, title: string, detail: string): Response {
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const html = `<!doctype html><meta charset="utf-8"><title>${escape(title)}</title><body style="font:15px system-ui;margin:2em;color:#333"><h1 style="font-size:1.2em">${escape(title)}</h1><p>${escape(detail)}</p>`;
  return new Response(html, { status, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } });
}
