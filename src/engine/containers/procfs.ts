/**
 * What `docker top` and `docker stats` read in the guest: /proc/<pid>/stat and the container's cgroup v2
 * files, printed by one shell script per call (containers.ts) and parsed here. `docker top` rows are laid
 * out as `ps -ef` prints them (UID PID PPID C STIME TTY TIME CMD), which is what dockerd runs.
 */
import type { ContainerStatsSample, ContainerTop } from '../api.ts';

/** The guest kernel's USER_HZ (i386 Linux). */
const CLOCK_TICKS = 100;

export interface GuestProcess {
  pid: number;
  ppid: number;
  uid: number;
  /** `/proc/<pid>/cmdline` with NULs as spaces; empty for kernel threads and zombies. */
  cmdline: string;
  comm: string;
  ttyNr: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /** Since boot, in clock ticks. */
  startTicks: number;
  /** The guest's boot time (Unix seconds) and uptime (seconds), for STIME and C. */
  bootTime: number;
  uptime: number;
}

/** Lines `P <uid>\t<cmdline>\t<stat>`, `B <btime>`, `U <uptime>` (see Containers.processes). */
export function parseProcesses(text: string): GuestProcess[] {
  const bootTime = Number(/^B (\d+)/m.exec(text)?.[1] ?? 0);
  const uptime = Number(/^U ([\d.]+)/m.exec(text)?.[1] ?? 0);
  const processes: GuestProcess[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('P ')) continue;
    const [uid, cmdline, stat] = line.slice(2).split('\t');
    if (!stat) continue;
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (open < 0 || close < open) continue;
    const fields = stat.slice(close + 2).split(' ');
    processes.push({
      pid: Number(stat.slice(0, open).trim()),
      comm: stat.slice(open + 1, close),
      ppid: Number(fields[1]),
      ttyNr: Number(fields[4]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      startTicks: Number(fields[19]),
      uid: Number(uid),
      cmdline: cmdline.trim(),
      bootTime,
      uptime,
    });
  }
  return processes.sort((a, b) => a.pid - b.pid);
}

/** `ps -ef` columns for the processes, as dockerd returns them for `docker top`. */
export function topTable(processes: GuestProcess[], now = Date.now()): ContainerTop {
  return {
    titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'],
    processes: processes.map((p) => [
      p.uid === 0 ? 'root' : String(p.uid),
      String(p.pid),
      String(p.ppid),
      String(cpuPercent(p)),
      startTime(p.bootTime * 1000 + (p.startTicks / CLOCK_TICKS) * 1000, now),
      ttyName(p.ttyNr),
      cpuTime(p.cpuTicks),
      p.cmdline || `[${p.comm}]`,
    ]),
  };
}

/** procps's C: CPU time used over the process's lifetime, as a whole percentage (at most 99). */
function cpuPercent(p: GuestProcess): number {
  const lifetime = p.uptime - p.startTicks / CLOCK_TICKS;
  if (lifetime <= 0) return 0;
  return Math.min(99, Math.floor((p.cpuTicks / CLOCK_TICKS / lifetime) * 100));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** procps's STIME: `HH:MM` today, `Nov28` this year, else the year (the guest's clock is UTC). */
function startTime(startMs: number, now: number): string {
  const start = new Date(startMs);
  const today = new Date(now);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (start.toISOString().slice(0, 10) === today.toISOString().slice(0, 10)) return `${pad(start.getUTCHours())}:${pad(start.getUTCMinutes())}`;
  if (start.getUTCFullYear() === today.getUTCFullYear()) return `${MONTHS[start.getUTCMonth()]}${pad(start.getUTCDate())}`;
  return String(start.getUTCFullYear());
}

function ttyName(ttyNr: number): string {
  if (!ttyNr) return '?';
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${minor + (major - 136) * 256}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return '?';
}

/** procps's TIME: `[DD-]HH:MM:SS` of CPU time. */
function cpuTime(ticks: number): string {
  const total = Math.floor(ticks / CLOCK_TICKS);
  const pad = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days ? `${days}-${clock}` : clock;
}

type StatsCounters = Omit<ContainerStatsSample, 'id' | 'name' | 'read' | 'running'>;

/** The `## section` dump of cgroup and /proc files (see Containers.statsSample). */
export function parseStats(text: string, hostNetwork: boolean): StatsCounters {
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of text.split('\n')) {
    const header = /^## (\w+)$/.exec(line);
    if (header) sections.set(header[1], (current = []));
    else if (line.trim()) current.push(line);
  }
  const keyed = (name: string) => new Map((sections.get(name) ?? []).map((l) => l.trim().split(/\s+/) as [string, string]));
  const cpu = keyed('cpu');
  const memStat = keyed('memstat');
  const [procStat = '', cpus = '1', memTotalKb = '0'] = sections.get('proc') ?? [];
  const jiffies = procStat.trim().split(/\s+/).slice(1, 9).reduce((sum, n) => sum + Number(n || 0), 0);
  const usage = Number(sections.get('memcur')?.[0] ?? 0);
  const inactiveFile = Number(memStat.get('inactive_file') ?? 0);
  const max = sections.get('memmax')?.[0]?.trim() ?? 'max';
  let blockRead = 0;
  let blockWrite = 0;
  for (const line of sections.get('io') ?? []) {
    blockRead += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    blockWrite += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  let networkRx = 0;
  let networkTx = 0;
  if (!hostNetwork) {
    for (const line of sections.get('net') ?? []) {
      const match = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
      if (!match || match[1] === 'lo') continue;
      const counters = match[2].trim().split(/\s+/).map(Number);
      networkRx += counters[0] ?? 0;
      networkTx += counters[8] ?? 0;
    }
  }
  return {
    cpuUsageNs: Number(cpu.get('usage_usec') ?? 0) * 1000,
    systemUsageNs: (jiffies * 1e9) / CLOCK_TICKS,
    onlineCpus: Math.max(1, Number(cpus) || 1),
    // Docker's CLI shows usage without the inactive page cache (cgroup v2: inactive_file).
    memoryUsage: inactiveFile < usage ? usage - inactiveFile : usage,
    memoryLimit: max === 'max' ? Number(memTotalKb) * 1024 : Number(max),
    networkRx,
    networkTx,
    blockRead,
    blockWrite,
    pids: Number(sections.get('pids')?.[0] ?? 0),
  };
}
