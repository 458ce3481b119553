/**
 * Stand-in for Node's `https`, aliased in vite.config.ts for dockerfile-language-service: its registry
 * client looks up image tags on Docker Hub, which a static page can't do (CORS) and Layerlab doesn't want
 * (base images are bundled). Requests fail at once, and the service falls back to no tag suggestions.
 */
type Handler = (arg?: unknown) => void;

export function get(_options: unknown, _cb?: Handler) {
  const handlers: Record<string, Handler> = {};
  const request = {
    on(event: string, handler: Handler) {
      handlers[event] = handler;
      if (event === 'error') queueMicrotask(() => handler(new Error('registry lookups are off in Layerlab')));
      return request;
    },
    end() {},
  };
  return request;
}

export const request = get;
export default { get, request };
