/**
 * Reading an `strace -f` log of vm/build.sh: which programs each process tried to execute, resolved on the
 * host through the root the process had chrooted into, and whether a file is an i386 (ELF32) program.
 * vm/build.test.ts uses it to prove the build never executes an i386 program on the host itself.
 */
import fs from "node:fs";
import path from "node:path";

/** The strace options a log for parseExecs is written with. */
export const TRACE_OPTIONS = [
  "--seccomp-bpf",
  "-f",
  "-qq",
  "-s",
  "256",
  "-e",
  "trace=execve,chroot,clone,clone3,fork,vfork",
  "-e",
  "signal=none",
];

export interface Exec {
  pid: number;
  path: string;
  /** the host path of the file, with the process's chroot applied */
  hostPath: string;
  result: string;
}

/** Parses `strace -f -e trace=execve,chroot,clone,clone3,fork,vfork` output into the attempted execs. */
export function parseExecs(log: string): Exec[] {
  const lines = log.split("\n");
  const parent = new Map<number, number>();
  const chroots = new Map<number, { line: number; dir: string }[]>();
  const unfinished = new Map<number, string>(); // pid -> syscall name awaiting its "resumed" line
  const execs: { pid: number; line: number; path: string; result: string }[] =
    [];
  lines.forEach((text, line) => {
    const m = /^(\d+) +(.*)$/.exec(text);
    if (!m) return;
    const pid = Number(m[1]);
    let rest = m[2];
    let name = /^([a-z0-9_]+)\(/.exec(rest)?.[1];
    const resumed = /^<\.\.\. ([a-z0-9_]+) resumed>/.exec(rest);
    if (resumed) name = resumed[1];
    if (!name) return;
    if (rest.endsWith("<unfinished ...>")) {
      unfinished.set(pid, rest);
      return;
    }
    if (resumed) {
      rest =
        (unfinished.get(pid) ?? "").replace(/ <unfinished \.\.\.>$/, "") +
        rest.slice(resumed[0].length);
      unfinished.delete(pid);
    }
    const result = /\) += (.*)$/.exec(rest)?.[1] ?? "?";
    if (["clone", "clone3", "fork", "vfork"].includes(name)) {
      const child = Number(/^(\d+)/.exec(result)?.[1]);
      if (child) parent.set(child, pid);
    } else if (name === "chroot" && result === "0") {
      const dir = JSON.parse(
        /^chroot\(("(?:[^"\\]|\\.)*")/.exec(rest)![1],
      ) as string;
      chroots.set(pid, [...(chroots.get(pid) ?? []), { line, dir }]);
    } else if (name === "execve") {
      const p = /^execve\(("(?:[^"\\]|\\.)*")/.exec(rest);
      if (p)
        execs.push({ pid, line, path: JSON.parse(p[1]) as string, result });
    }
  });
  const rootOf = (pid: number, line: number): string => {
    const own = (chroots.get(pid) ?? []).filter((c) => c.line < line).pop();
    if (own)
      return own.dir.startsWith("/")
        ? own.dir
        : path.resolve(rootOf(parent.get(pid) ?? 0, line), own.dir);
    const up = parent.get(pid);
    return up === undefined ? "/" : rootOf(up, line);
  };
  return execs.map((e) => ({
    ...e,
    hostPath: path.join(rootOf(e.pid, e.line), e.path),
  }));
}

/** 1 = ELF32, 2 = ELF64, 0 = not ELF or missing. */
export function elfClass(file: string): number {
  try {
    const fd = fs.openSync(file, "r");
    const b = Buffer.alloc(5);
    fs.readSync(fd, b, 0, 5, 0);
    fs.closeSync(fd);
    return b.readUInt32BE(0) === 0x7f454c46 ? b[4] : 0;
  } catch {
    return 0;
  }
}
