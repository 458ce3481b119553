/** The texts Docker prints for published ports (`docker ps` PORTS column, `docker port`). */
import type { PortBinding } from '../engine/index.ts';

/** `docker ps` PORTS: `0.0.0.0:8080->8000/tcp`, plus exposed-only ports as `8000/tcp`. */
export function formatPortsColumn(bindings: PortBinding[], exposed: number[] = []): string {
  const published = bindings.map((b) => `${b.hostIp}:${b.hostPort}->${b.containerPort}/${b.protocol}`);
  const onlyExposed = exposed.filter((p) => !bindings.some((b) => b.containerPort === p)).map((p) => `${p}/tcp`);
  return [...published, ...onlyExposed].join(', ');
}

/** `docker port CONTAINER [PORT]`: `8000/tcp -> 0.0.0.0:8080`. */
export function formatPortLines(bindings: PortBinding[], filter?: string): string[] {
  const wanted = filter === undefined ? undefined : filter.includes('/') ? filter : `${filter}/tcp`;
  return bindings
    .filter((b) => wanted === undefined || `${b.containerPort}/${b.protocol}` === wanted)
    .map((b) => (filter === undefined ? `${b.containerPort}/${b.protocol} -> ${b.hostIp}:${b.hostPort}` : `${b.hostIp}:${b.hostPort}`));
}
