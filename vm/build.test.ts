/**
 * vm/build.sh never executes an i386 program on the host itself (kernels without IA32 emulation cannot):
 * the image part of the build runs under `strace -f`, and every program any process tried to execute is
 * checked for its ELF class, resolved inside the root the process had chrooted into.
 * Runs as root (chroot, dpkg-deb) with the .deb cache of vm/.cache/debs; writes to a throwaway --out.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BUILD = path.resolve(__dirname, "build.sh");
const isRoot = process.getuid?.() === 0;
const hasStrace = spawnSync("strace", ["-V"]).status === 0;
const skipReason = !isRoot
  ? "must run as root (chroot, apt)"
  : !hasStrace
    ? "strace is not installed"
    : "";
// scripts/test.sh sets LAYERLAB_NATIVE_TESTS=1: there a skipped suite is a failure, not a pass.
if (skipReason && process.env.LAYERLAB_NATIVE_TESTS === "1")
  throw new Error(`vm/build.test.ts cannot run: ${skipReason}`);

interface Exec {
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
function elfClass(file: string): number {
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

function straced(
  tmp: string,
  log: string,
  argv: string[],
  env: NodeJS.ProcessEnv = {},
) {
  return spawnSync(
    "strace",
    [
      "-f",
      "-qq",
      "-s",
      "256",
      "-e",
      "trace=execve,chroot,clone,clone3,fork,vfork",
      "-e",
      "signal=none",
      "-o",
      log,
      ...argv,
    ],
    {
      cwd: tmp,
      env: { ...process.env, ...env },
      encoding: "utf8",
      maxBuffer: 64 << 20,
    },
  );
}

describe.skipIf(!!skipReason)(
  "vm/build.sh on a host without IA32 emulation",
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerlab-build-"));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("the checker sees an i386 program run directly, also inside a chroot, and not one run under qemu", () => {
      const src = path.join(tmp, "t.c");
      fs.writeFileSync(src, "int main(void) { return 0; }\n");
      const root = path.join(tmp, "root");
      fs.mkdirSync(root);
      execFileSync("gcc", [
        "-m32",
        "-static",
        "-o",
        path.join(root, "t32"),
        src,
      ]);
      const log = path.join(tmp, "probe.log");
      // The direct runs may fail with ENOEXEC here (no IA32): the attempt is what counts.
      straced(tmp, log, [
        "sh",
        "-c",
        `${root}/t32; chroot ${root} /t32; qemu-i386-static ${root}/t32; true`,
      ]);
      const i386 = parseExecs(fs.readFileSync(log, "utf8")).filter(
        (e) => elfClass(e.hostPath) === 1,
      );
      expect(i386.map((e) => e.path)).toEqual([`${root}/t32`, "/t32"]);
    });

    it("builds the image files without executing any i386 binary directly", () => {
      const out = path.join(tmp, "out");
      const log = path.join(tmp, "build.log");
      // gzip: the fastest initramfs compression; the snapshot step boots the result and is not needed here
      const r = straced(
        tmp,
        log,
        ["bash", BUILD, "--force", "--no-snapshot", "--out", out],
        { INITRD_COMPRESS: "gzip" },
      );
      expect(r.status, r.stderr.slice(-4000)).toBe(0);
      expect(fs.existsSync(path.join(out, "base", "images.json"))).toBe(true);
      const execs = parseExecs(fs.readFileSync(log, "utf8"));
      // the run exercised the steps that need guest programs: busybox applets, ld.so --list, python
      expect(execs.some((e) => e.path.endsWith("qemu-i386-static"))).toBe(true);
      expect(
        execs.filter((e) => e.path === "/.qemu-i386-static").length,
      ).toBeGreaterThanOrEqual(3);
      const i386 = execs
        .filter((e) => elfClass(e.hostPath) === 1)
        .map((e) => `${e.path} (${e.hostPath}) = ${e.result}`);
      expect(i386).toEqual([]);
    }, 900_000);
  },
);
