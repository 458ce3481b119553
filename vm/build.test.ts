/**
 * vm/build.sh never executes an i386 program on the host itself (kernels without IA32 emulation cannot):
 * the build runs under `strace -f`, and every program any process tried to execute is checked for its ELF
 * class, resolved inside the root the process had chrooted into. The build checked is the one
 * scripts/test.sh's set-up just ran when the VM needed building, else one made here into a throwaway --out.
 * Runs as root (chroot, dpkg-deb) with the .deb cache of vm/.cache/debs. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runProgram } from "../src/process/run.ts";
import { elfClass, parseExecs, TRACE_OPTIONS } from "./build-trace.ts";

const BUILD = path.resolve(__dirname, "build.sh");
const isRoot = process.getuid?.() === 0;
const hasStrace = await runProgram("strace", ["-V"]).then(
  () => true,
  () => false,
);
const skipReason = !isRoot
  ? "must run as root (chroot, apt)"
  : !hasStrace
    ? "strace is not installed"
    : "";
// scripts/test.sh sets LAYERLAB_NATIVE_TESTS=1: there a skipped suite is a failure, not a pass.
if (skipReason && process.env.LAYERLAB_NATIVE_TESTS === "1")
  throw new Error(`vm/build.test.ts cannot run: ${skipReason}`);

/** The strace log of a build, its output folder and the scratch tree it kept. */
interface TracedBuild {
  log: string;
  out: string;
  work: string;
}

function readTracedBuild(log: string): TracedBuild {
  const done = Object.fromEntries(
    fs
      .readFileSync(`${log}.done`, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(/=(.*)/s).slice(0, 2)),
  ) as { out: string; work: string };
  return { log, ...done };
}

/**
 * The build to check: the one scripts/test.sh's set-up just ran under strace (it names the log in
 * LAYERLAB_BUILD_TRACE; there is none when the VM was already up to date), else one into a throwaway --out.
 */
async function tracedBuild(tmp: string): Promise<TracedBuild> {
  const given = process.env.LAYERLAB_BUILD_TRACE;
  if (given && fs.existsSync(`${given}.done`)) return readTracedBuild(given);
  const log = path.join(tmp, "build.strace");
  const { LAYERLAB_BUILD_TRACING: _tracing, ...env } = process.env;
  // gzip: the fastest initramfs compression; the snapshot step boots the result and is not needed here
  await runProgram(
    "bash",
    [BUILD, "--force", "--no-snapshot", "--out", path.join(tmp, "out")],
    {
      cwd: tmp,
      env: { ...env, INITRD_COMPRESS: "gzip", LAYERLAB_BUILD_TRACE: log },
      maxBytes: 64 << 20,
    },
  );
  return readTracedBuild(log);
}

describe.skipIf(!!skipReason)(
  "vm/build.sh on a host without IA32 emulation",
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerlab-build-"));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("vm/build.sh traces with the options the checker reads", () => {
      expect(fs.readFileSync(BUILD, "utf8")).toContain(
        `exec strace ${TRACE_OPTIONS.join(" ")} `,
      );
    });

    it("the checker sees an i386 program run directly, also inside a chroot, and not one run under qemu", async () => {
      const src = path.join(tmp, "t.c");
      fs.writeFileSync(src, "int main(void) { return 0; }\n");
      const root = path.join(tmp, "root");
      fs.mkdirSync(root);
      await runProgram("gcc", [
        "-m32",
        "-static",
        "-o",
        path.join(root, "t32"),
        src,
      ]);
      const log = path.join(tmp, "probe.log");
      // The direct runs may fail with ENOEXEC here (no IA32): the attempt is what counts.
      await runProgram("strace", [
        ...TRACE_OPTIONS,
        "-o",
        log,
        "sh",
        "-c",
        `${root}/t32; chroot ${root} /t32; qemu-i386-static ${root}/t32; true`,
      ]);
      const i386 = parseExecs(fs.readFileSync(log, "utf8")).filter(
        (e) => elfClass(e.hostPath) === 1,
      );
      expect(i386.map((e) => e.path)).toEqual([`${root}/t32`, "/t32"]);
    });

    it("builds the image files without executing any i386 binary directly", async () => {
      const build = await tracedBuild(tmp);
      let checked = false;
      try {
        expect(
          fs.existsSync(path.join(build.out, "base", "images.json")),
        ).toBe(true);
        const execs = parseExecs(fs.readFileSync(build.log, "utf8"));
        // the run exercised the steps that need guest programs: busybox applets, ld.so --list, python
        expect(execs.some((e) => e.path.endsWith("qemu-i386-static"))).toBe(
          true,
        );
        expect(
          execs.filter((e) => e.path === "/.qemu-i386-static").length,
        ).toBeGreaterThanOrEqual(3);
        // every program that ran from the scratch tree is still there to be classified, but the copy of
        // the host's qemu that the build removes after each use
        const gone = execs
          .filter(
            (e) =>
              e.result === "0" &&
              e.hostPath.startsWith(`${build.work}/`) &&
              e.path !== "/.qemu-i386-static" &&
              !fs.existsSync(e.hostPath),
          )
          .map((e) => e.hostPath);
        expect(gone).toEqual([]);
        const i386 = execs
          .filter((e) => elfClass(e.hostPath) === 1)
          .map((e) => `${e.path} (${e.hostPath}) = ${e.result}`);
        expect(i386).toEqual([]);
        checked = true;
      } finally {
        // The set-up's scratch tree stays after a failure, to look into (its next build replaces it).
        if (checked || build.log.startsWith(tmp))
          fs.rmSync(build.work, { recursive: true, force: true });
      }
    }, 900_000);
  },
);
