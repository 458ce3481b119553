/**
 * Published ports: `-p [IP:]HOST:CONTAINER[/PROTO]` and `-P` parsed the way the docker CLI does.
 */
import { EngineError } from '../oci/errors.ts';
import type { PortBinding } from '../api.ts';

/** The first host port `-P` and `-p CONTAINER` hand out (Docker's ephemeral range starts at 32768). */
export const EPHEMERAL_PORT_START = 32768;

/** One `-p` value; `hostPort: 0` means "pick a free one" (`-p 8000`, `-p 127.0.0.1::8000`). */
export function parsePublish(spec: string): PortBinding {
  const [addrPorts, proto = 'tcp', extra] = spec.split('/');
  if (extra !== undefined || (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp')) {
    throw new EngineError(`invalid proto: ${proto}`);
  }
  if (proto !== 'tcp') throw new EngineError(`Layerlab publishes TCP ports only, not ${proto} (${spec})`);
  const parts = addrPorts.split(':');
  let hostIp = '';
  let host = '';
  let container: string;
  if (parts.length === 1) [container] = parts;
  else if (parts.length === 2) [host, container] = parts;
  else if (parts.length === 3) [hostIp, host, container] = parts;
  else throw new EngineError(`invalid port format for --publish: ${spec}`);
  if (hostIp && !/^\d{1,3}(\.\d{1,3}){3}$/.test(hostIp)) throw new EngineError(`invalid IP address: ${hostIp}`);
  const containerPort = portNumber(container, spec);
  const hostPort = host === '' ? 0 : portNumber(host, spec);
  return { hostIp: hostIp || '0.0.0.0', hostPort, containerPort, protocol: 'tcp' };
}

function portNumber(text: string, spec: string): number {
  if (!/^\d+$/.test(text)) {
    if (text.includes('-')) throw new EngineError(`port ranges are not supported here: ${spec}`);
    throw new EngineError(`invalid containerPort: ${text}`);
  }
  const n = Number(text);
  if (n < 1 || n > 65535) throw new EngineError(`invalid port: ${text} (must be 1-65535)`);
  return n;
}

/** Image EXPOSE entries (`"8000/tcp": {}`) → port numbers, for `-P`. */
export function exposedTcpPorts(exposed: Record<string, unknown> | undefined): number[] {
  return Object.keys(exposed ?? {})
    .map((key) => /^(\d+)(?:\/tcp)?$/.exec(key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
}
