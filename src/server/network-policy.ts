/**
 * Where the VM's relay may connect. Public addresses only by default; private ranges, loopback,
 * link-local, multicast and the relay machine's own addresses are refused unless the operator allows a
 * `host:port` explicitly (`LAYERLAB_NETWORK_ALLOW=127.0.0.1:8000,host.docker.internal:8080`).
 * Names are resolved here and the resolved address is what is checked and connected to (no DNS rebinding).
 * The guest's gateway (v86's router, 192.168.86.1, `host.docker.internal` in the guest) stands for the
 * machine that runs the relay, as on Docker Desktop, and is as refused as any private address unless allowed.
 */
import ipaddr from 'ipaddr.js';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';

export const HOST_GATEWAY_NAME = 'host.docker.internal';

export interface AllowEntry {
  host: string;
  port: number;
}

export interface NetworkPolicy {
  allow: AllowEntry[];
  /** The guest-side address that means "the machine running the relay". */
  gateway: string;
  /** Names → addresses (default: the system resolver, IPv4 first). */
  resolve?: (name: string) => Promise<string[]>;
  /** This machine's own addresses (default: its interfaces'), refused even when public. */
  ownAddresses?: string[];
}

export type Decision = { ok: true; address: string; port: number } | { ok: false; reason: string };

export class AllowListError extends Error {}

/** `127.0.0.1:8000, host.docker.internal:8080` → entries; a malformed entry is an error naming it. */
export function parseAllowList(text: string | undefined): AllowEntry[] {
  const entries: AllowEntry[] = [];
  for (const raw of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d{1,5})$/i.exec(raw);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
      throw new AllowListError(`LAYERLAB_NETWORK_ALLOW: "${raw}" is not host:port (e.g. 127.0.0.1:8000 or host.docker.internal:8080)`);
    }
    entries.push({
      host: match[1].replace(/^\[|\]$/g, '').toLowerCase(),
      port,
    });
  }
  return entries;
}

/** True for addresses on the public internet (ipaddr.js's "unicast" range), false for every special range. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

function sameAddress(a: string, b: string): boolean {
  try {
    return ipaddr.process(a).toString() === ipaddr.process(b).toString();
  } catch {
    return a.toLowerCase() === b.toLowerCase();
  }
}

function allowed(policy: NetworkPolicy, hosts: string[], port: number): boolean {
  return policy.allow.some((entry) => entry.port === port && hosts.some((host) => sameAddress(entry.host, host)));
}

const systemResolve = async (name: string): Promise<string[]> => (await lookup(name, { all: true, order: 'ipv4first' })).map((a) => a.address);

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => Boolean(a));
}

/** Decides a connection the guest asked for (`host` is usually an IP literal: the guest resolved it first). */
export async function decideConnection(policy: NetworkPolicy, host: string, port: number): Promise<Decision> {
  const name = host.trim().toLowerCase();
  if (name === HOST_GATEWAY_NAME || sameAddress(name, policy.gateway)) {
    if (allowed(policy, [HOST_GATEWAY_NAME, '127.0.0.1', 'localhost'], port)) return { ok: true, address: '127.0.0.1', port };
    return {
      ok: false,
      reason: `${HOST_GATEWAY_NAME}:${port} (the machine running Layerlab) is not allowed; allow it with LAYERLAB_NETWORK_ALLOW=${HOST_GATEWAY_NAME}:${port}`,
    };
  }
  let address = name;
  if (!ipaddr.isValid(name)) {
    try {
      [address] = await (policy.resolve ?? systemResolve)(name);
    } catch {
      return { ok: false, reason: `${name}: no such host` };
    }
    if (!address) return { ok: false, reason: `${name}: no such host` };
  }
  if (allowed(policy, [name, address], port)) return { ok: true, address, port };
  const target = name === address ? `${address}:${port}` : `${name}:${port} (${address})`;
  if (!isPublicAddress(address)) {
    return {
      ok: false,
      reason: `${target} is not a public address; allow it with LAYERLAB_NETWORK_ALLOW=${address}:${port}`,
    };
  }
  if ((policy.ownAddresses ?? localAddresses()).some((own) => sameAddress(own, address))) {
    return {
      ok: false,
      reason: `${target} is the relay's own machine; allow it with LAYERLAB_NETWORK_ALLOW=${address}:${port}`,
    };
  }
  return { ok: true, address, port };
}
