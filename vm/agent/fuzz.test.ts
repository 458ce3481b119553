/**
 * Fuzzes the guest agent's parsers (request JSON, layer tar reader, pax records) with libFuzzer and
 * AddressSanitizer (vm/agent/fuzz.c includes the agent's sources): 100 000 cases must find nothing (no memory error,
 * leak, abort, or file written outside the unpack destination). Seeds are real archives and requests.
 * Needs root (the harness chroots, and unpack sets owners and makes device nodes) and clang.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const HARNESS = path.resolve(__dirname, "fuzz.c");
const RUNS = 100_000;
const isRoot = process.getuid?.() === 0;
const hasClang = spawnSync("clang", ["--version"]).status === 0;
const skipReason = !isRoot
  ? "must run as root (chroot, mount namespace)"
  : !hasClang
    ? "clang is not installed"
    : "";
// scripts/test.sh sets LAYERLAB_NATIVE_TESTS=1: there a skipped suite is a failure, not a pass.
if (skipReason && process.env.LAYERLAB_NATIVE_TESTS === "1")
  throw new Error(`vm/agent/fuzz.test.ts cannot run: ${skipReason}`);

describe.skipIf(!!skipReason)(
  "guest agent parsers under libFuzzer + ASan",
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layerlab-fuzz-"));
    afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it(`finds nothing in ${RUNS} cases`, () => {
      const bin = path.join(tmp, "fuzz");
      execFileSync(
        "clang",
        [
          "-g",
          "-O1",
          "-fsanitize=fuzzer,address",
          "-DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION",
          "-o",
          bin,
          HARNESS,
        ],
        { stdio: "pipe" },
      );
      const root = path.join(tmp, "root");
      const seeds = path.join(root, "seeds");
      fs.mkdirSync(path.join(root, "artifacts"), { recursive: true });
      fs.mkdirSync(seeds);

      // tar seeds: GNU and pax archives of a tree with long names, links, xattrs, a whiteout and an opaque dir
      const src = path.join(tmp, "src");
      fs.mkdirSync(path.join(src, "dir", "sub"), { recursive: true });
      fs.writeFileSync(path.join(src, "dir", "file"), "hello\n");
      fs.writeFileSync(path.join(src, "n".repeat(120)), "long\n");
      fs.symlinkSync("dir/file", path.join(src, "sym"));
      fs.linkSync(path.join(src, "dir", "file"), path.join(src, "hard"));
      fs.writeFileSync(path.join(src, ".wh.gone"), "");
      fs.writeFileSync(path.join(src, "dir", "sub", ".wh..wh..opq"), "");
      spawnSync("setfattr", [
        "-n",
        "user.note",
        "-v",
        "x",
        path.join(src, "dir", "file"),
      ]);
      const seed = (name: string, target: number, body: Buffer | string) =>
        fs.writeFileSync(
          path.join(seeds, name),
          Buffer.concat([Buffer.from([target]), Buffer.from(body)]),
        );
      for (const format of ["gnu", "posix"]) {
        seed(
          `${format}.tar`,
          1,
          execFileSync("tar", [
            `--format=${format}`,
            "--xattrs",
            "-C",
            src,
            "-cf",
            "-",
            ".",
          ]),
        );
      }
      seed(
        "request.json",
        0,
        '{"id":7,"op":"unpack","tar":"/mnt/host/a.tar","dest":"/var/lib/x","argv":["sh","-c","é"],"data":"aGVsbG8=","n":[1,-2.5e3,true,false,null,{"u":"\\ud83d\\ude00\\u0000"}]}',
      );
      seed(
        "cli.json",
        0,
        '{"argv":["build","-t","app","."],"cwd":"/root","tty":true,"cols":80,"rows":24}',
      );
      seed(
        "pax.body",
        2,
        "30 path=some/long/file/name\n20 linkpath=target\n27 SCHILY.xattr.user.k=v\n21 mtime=1.500000000\n",
      );

      const inputs = fs
        .readdirSync(seeds)
        .map((f) => `/seeds/${f}`)
        .join(",");
      const r = spawnSync(
        bin,
        [
          `-runs=${RUNS}`,
          "-seed=1",
          "-max_len=8192",
          "-timeout=10",
          `-seed_inputs=${inputs}`,
          "-artifact_prefix=/artifacts/",
        ],
        {
          env: { ...process.env, LAYERLAB_FUZZ_ROOT: root },
          encoding: "utf8",
          maxBuffer: 256 << 20,
        },
      );
      const tail = r.stderr
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .slice(-40)
        .join("\n");
      expect(fs.readdirSync(path.join(root, "artifacts")), tail).toEqual([]);
      expect(r.status, tail).toBe(0);
      expect(r.stderr).toMatch(new RegExp(`Done ${RUNS} runs`));
    }, 900_000);
  },
);
