import { describe, expect, it } from 'vitest';
import { parseProcesses, parseStats, topTable } from './procfs.ts';
import { bytesSize, containerStatus, formatTable } from '../../client/format.ts';
import { statsRow, STATS_COLUMNS } from '../../client/stats.ts';
import { formatTop } from '../../client/runtime-verbs.ts';
import { logTimestamp, parseLogTime } from '../../client/containers.ts';
import type { ContainerStatsSample } from '../api.ts';

// Boot at 2026-11-28T23:00:00Z; uptime 1800 s.
const BOOT = Date.parse('2026-11-28T23:00:00Z') / 1000;
const DUMP = [
  'P 0\tsh -c sleep 300 & wait \t173 (sh) S 160 173 173 0 -1 4194560 120 0 0 0 5 12 0 0 20 0 1 0 120000 1200000 100 4294967295',
  'P 1000\t\t185 (kworker/0:1) S 173 173 173 34818 -1 4194560 80 0 0 0 360000 1 0 0 20 0 1 0 150000 1100000 80 4294967295',
  `B ${BOOT}`,
  'U 1800.25 1700.00',
].join('\n');

describe('docker top', () => {
  it('lays out /proc as ps -ef does', () => {
    const top = topTable(parseProcesses(DUMP), Date.parse('2026-11-28T23:45:00Z'));
    expect(top.titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(top.processes).toEqual([
      ['root', '173', '160', '0', '23:20', '?', '00:00:00', 'sh -c sleep 300 & wait'],
      // pts/2 (major 136, minor 2), an hour of CPU time, no cmdline: [comm].
      ['1000', '185', '173', '99', '23:25', 'pts/2', '01:00:00', '[kworker/0:1]'],
    ]);
    expect(topTable(parseProcesses(DUMP), Date.parse('2026-11-30T10:00:00Z')).processes[0][4]).toBe('Nov28');
  });

  it('prints with minwidth 20 as docker top does', () => {
    const text = formatTop({ titles: ['UID', 'PID', 'CMD'], processes: [['root', '173', 'sleep 300']] });
    expect(text).toBe(`UID${' '.repeat(17)}PID${' '.repeat(17)}CMD\nroot${' '.repeat(16)}173${' '.repeat(17)}sleep 300\n`);
  });
});

const STATS_DUMP = [
  '## cpu', 'usage_usec 474507', 'user_usec 62886', 'system_usec 411621',
  '## memcur', '2253952',
  '## memmax', 'max',
  '## memstat', 'anon 1000', 'inactive_file 1000000', 'active_file 5',
  '## io', '8:0 rbytes=4096 wbytes=1500000 rios=1 wios=2', '8:16 rbytes=1000 wbytes=0',
  '## pids', '2',
  '## proc', 'cpu  142 0 1814 29 0 0 0 0 0 0', '1', '254000',
  '## net',
  'Inter-|   Receive                                                |  Transmit',
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
  '    lo:    5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0',
  '  eth0:     796       8    0    0    0     0          0         0      126       2    0    0    0     0       0          0',
].join('\n');

describe('docker stats', () => {
  const base = { id: 'a'.repeat(64), name: 'web', read: '2026-11-28T23:45:00Z', running: true };

  it('reads cgroup v2 and /proc counters', () => {
    expect(parseStats(STATS_DUMP, false)).toEqual({
      cpuUsageNs: 474_507_000,
      systemUsageNs: 1985 * 10_000_000,
      onlineCpus: 1,
      memoryUsage: 1_253_952,
      memoryLimit: 254000 * 1024,
      networkRx: 796,
      networkTx: 126,
      blockRead: 5096,
      blockWrite: 1_500_000,
      pids: 2,
    });
    expect(parseStats(STATS_DUMP.replace('## memmax\nmax', '## memmax\n67108864'), true)).toMatchObject({ memoryLimit: 67108864, networkRx: 0 });
  });

  it('formats a row as the docker CLI does, CPU % from two samples', () => {
    const previous: ContainerStatsSample = { ...base, ...parseStats(STATS_DUMP, false) };
    const current: ContainerStatsSample = { ...previous, cpuUsageNs: previous.cpuUsageNs + 25_000_000, systemUsageNs: previous.systemUsageNs + 1_000_000_000 };
    const row = statsRow(current, previous);
    expect(row).toEqual({ id: 'aaaaaaaaaaaa', name: 'web', cpu: '2.50%', memUsage: '1.196MiB / 248MiB', memPercent: '0.48%', netIO: '796B / 126B', blockIO: '5.1kB / 1.5MB', pids: '2' });
    expect(statsRow(current).cpu).toBe('0.00%');
    expect(formatTable({ columns: STATS_COLUMNS, rows: [row] })).toBe(
      'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O       BLOCK I/O       PIDS\n' +
        'aaaaaaaaaaaa   web       2.50%     1.196MiB / 248MiB   0.48%     796B / 126B   5.1kB / 1.5MB   2\n',
    );
  });

  it('uses go-units BytesSize for memory', () => {
    expect([0, 500, 1536, 1_425_408, 64 * 1024 * 1024, 1.5 * 1024 ** 3].map(bytesSize)).toEqual(['0B', '500B', '1.5KiB', '1.359MiB', '64MiB', '1.5GiB']);
  });
});

describe('docker logs and ps times', () => {
  const now = Date.parse('2026-11-28T23:45:00Z');
  it('reads --since/--until as durations, Unix times and RFC 3339', () => {
    expect(parseLogTime('42m', now)).toBe(now - 42 * 60_000);
    expect(parseLogTime('1h30m', now)).toBe(now - 90 * 60_000);
    expect(parseLogTime('1700000000.5', now)).toBe(1_700_000_000_500);
    expect(parseLogTime('2026-11-28T23:00:00Z', now)).toBe(Date.parse('2026-11-28T23:00:00Z'));
    expect(parseLogTime('2026-11-28', now)).toBe(Date.parse('2026-11-28'));
    expect(() => parseLogTime('yesterday', now)).toThrow('failed to parse value as time or duration: "yesterday"');
  });

  it('prints timestamps with nine fraction digits', () => {
    expect(logTimestamp('2026-11-28T23:45:00.123Z')).toBe('2026-11-28T23:45:00.123000000Z');
    expect(logTimestamp('2026-11-28T23:45:00Z')).toBe('2026-11-28T23:45:00.000000000Z');
  });

  it('shows a paused container as Up … (Paused)', () => {
    expect(containerStatus({ state: 'paused', exitCode: null, startedAt: '2026-11-28T23:40:00Z', finishedAt: null, now })).toBe('Up 5 minutes (Paused)');
  });
});

describe('docker stats --format', () => {
  it('takes table templates, plain templates and json', async () => {
    const { formatStats } = await import('../../client/runtime-verbs.ts');
    const sample: ContainerStatsSample = { id: 'b'.repeat(64), name: 'db', read: '', running: true, ...parseStats(STATS_DUMP, false) };
    const rows = [{ row: statsRow(sample), sample }];
    expect(formatStats(rows, { format: 'table {{.Name}}\\t{{.PIDs}}' })).toBe('NAME      PIDS\ndb        2\n');
    expect(formatStats(rows, { format: '{{.Name}}: {{.MemPerc}}' })).toBe('db: 0.48%\n');
    expect(JSON.parse(formatStats(rows, { format: 'json' }))).toMatchObject({ Name: 'db', PIDs: '2', ID: 'bbbbbbbbbbbb' });
  });
});
