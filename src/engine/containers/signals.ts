/** Signal names (`SIGTERM`, `TERM`, `15`) to numbers, as `docker kill -s` and STOPSIGNAL accept them (i386 Linux). */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12,
  PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22,
  URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

export function signalNumber(signal: string | undefined, fallback = 15): number {
  if (!signal) return fallback;
  if (/^\d+$/.test(signal)) return Number(signal);
  const number = SIGNALS[signal.toUpperCase().replace(/^SIG/, '')];
  if (number === undefined) throw new Error(`invalid signal: ${signal}`);
  return number;
}
