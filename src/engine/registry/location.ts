/**
 * Where a reference lives: `busybox` → https://registry-1.docker.io, repository `library/busybox`;
 * `127.0.0.1:5000/lab/app` → http://127.0.0.1:5000, `lab/app`. Plain HTTP only for localhost and
 * 127.0.0.1, as Docker treats them as insecure registries by default.
 */
import type { Reference } from '../oci/reference.ts';

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface RepositoryLocation {
  /** The registry as the user names it (`docker.io`, `ghcr.io`, `127.0.0.1:5000`): credentials are kept under it. */
  registry: string;
  /** Host (and port) the API is reached at. */
  apiHost: string;
  scheme: 'https' | 'http';
  /** Repository path inside the registry: `library/busybox`. */
  repository: string;
}

export function isLocalRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '127.0.0.1' || name === '[::1]';
}

function domainOf(name: string): string | undefined {
  const first = name.split('/')[0];
  return name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
}

/** `docker.io` → `registry-1.docker.io`; other names as given. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? DOCKER_HUB_API : registry;
}

/** The registry name used for credentials (`docker login` with no argument means Docker Hub). */
export function normalizeRegistry(server: string | undefined): string {
  if (!server) return DOCKER_HUB;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === DOCKER_HUB_API ? DOCKER_HUB : host;
}

export function locate(ref: Reference): RepositoryLocation {
  const domain = domainOf(ref.name);
  if (!domain) {
    const repository = ref.name.includes('/') ? ref.name : `library/${ref.name}`;
    return { registry: DOCKER_HUB, apiHost: DOCKER_HUB_API, scheme: 'https', repository };
  }
  return {
    registry: domain,
    apiHost: registryApiHost(domain),
    scheme: isLocalRegistry(domain) ? 'http' : 'https',
    repository: ref.name.slice(domain.length + 1),
  };
}
