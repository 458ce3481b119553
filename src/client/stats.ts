/** `docker stats` rows and columns, from the engine's samples. */
import type { ContainerStatsSample } from '../engine/index.ts';
import { bytesSize, humanSize } from './format.ts';

/** One `docker stats` row; CPU % needs the previous sample of the same container (Docker's precpu). */
export interface StatsRow {
  id: string;
  name: string;
  cpu: string;
  memUsage: string;
  memPercent: string;
  netIO: string;
  blockIO: string;
  pids: string;
}

export function statsRow(current: ContainerStatsSample, previous?: ContainerStatsSample): StatsRow {
  if (!current.running) {
    return { id: current.id.slice(0, 12), name: current.name, cpu: '0.00%', memUsage: '0B / 0B', memPercent: '0.00%', netIO: '0B / 0B', blockIO: '0B / 0B', pids: '0' };
  }
  let cpu = 0;
  if (previous?.running) {
    const cpuDelta = current.cpuUsageNs - previous.cpuUsageNs;
    const systemDelta = current.systemUsageNs - previous.systemUsageNs;
    if (cpuDelta > 0 && systemDelta > 0) cpu = (cpuDelta / systemDelta) * current.onlineCpus * 100;
  }
  const memPercent = current.memoryLimit > 0 ? (current.memoryUsage / current.memoryLimit) * 100 : 0;
  const size = (n: number) => humanSize(n, 3);
  return {
    id: current.id.slice(0, 12),
    name: current.name,
    cpu: `${cpu.toFixed(2)}%`,
    memUsage: `${bytesSize(current.memoryUsage)} / ${bytesSize(current.memoryLimit)}`,
    memPercent: `${memPercent.toFixed(2)}%`,
    netIO: `${size(current.networkRx)} / ${size(current.networkTx)}`,
    blockIO: `${size(current.blockRead)} / ${size(current.blockWrite)}`,
    pids: String(current.pids),
  };
}

export const STATS_COLUMNS: { header: string; value: (row: StatsRow) => string }[] = [
  { header: 'CONTAINER ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.name },
  { header: 'CPU %', value: (r) => r.cpu },
  { header: 'MEM USAGE / LIMIT', value: (r) => r.memUsage },
  { header: 'MEM %', value: (r) => r.memPercent },
  { header: 'NET I/O', value: (r) => r.netIO },
  { header: 'BLOCK I/O', value: (r) => r.blockIO },
  { header: 'PIDS', value: (r) => r.pids },
];
