/**
 * Host-side tests of the guest agent (vm/agent/*.c): compiled natively with gcc and driven over
 * `--stdio`, as root (unpack sets owners, whiteouts are device nodes, `mount` needs CAP_SYS_ADMIN).
 * `run`/`signal`/`delete` use a stub crun (LAYERLAB_CRUN) since the host has no guest crun.
 * The agent is built for the host's own architecture, so no IA32 support is needed; the i386 build is only
 * compiled (LAYERLAB_AGENT_M32=1 runs the suite against it under qemu-i386-static).
 */
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packTar, unpackTar, type TarHeader } from 'modern-tar';

// The agent's sources: every .c file in this folder but the libFuzzer harness (as vm/build.sh compiles them).
const SRC = fs
  .readdirSync(__dirname)
  .filter((f) => f.endsWith('.c') && f !== 'fuzz.c')
  .sort()
  .map((f) => path.resolve(__dirname, f));
const hasGcc = spawnSync('gcc', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;
const skipReason = !hasGcc ? 'gcc is not installed' : !isRoot ? 'must run as root (device nodes, chown, mount)' : '';
// scripts/test.sh sets LAYERLAB_NATIVE_TESTS=1: there a skipped suite is a failure, not a pass.
const mustRun = process.env.LAYERLAB_NATIVE_TESTS === '1';
if (skipReason && mustRun) throw new Error(`vm/agent/agent.test.ts cannot run: ${skipReason}`);
if (skipReason) console.warn(`vm/agent/agent.test.ts skipped: ${skipReason}`);

type Msg = Record<string, any>;
interface Result {
  reply: Msg;
  streams: { stream: string; data: Buffer }[];
  stdout: string;
  stderr: string;
}

/** Drives one agent process: requests by id, stream events collected per id, events and id:null replies queued. */
class Agent {
  proc: ChildProcessWithoutNullStreams;
  events: Msg[] = [];
  nullReplies: Msg[] = [];
  order: Msg[] = [];
  #buf = '';
  #nextId = 1;
  #pending = new Map<unknown, { streams: Result['streams']; resolve: (r: Result) => void }>();
  #waiters: (() => void)[] = [];

  constructor(bin: string, env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(bin, ['--stdio'], { env: { ...process.env, ...env } });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      this.#buf += chunk;
      let nl;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.#dispatch(JSON.parse(line)); // every output line must be valid JSON
      }
    });
    this.proc.stderr.on('data', (d) => process.stderr.write(`[agent stderr] ${d}`));
  }

  #dispatch(m: Msg) {
    this.order.push(m);
    if (!('id' in m)) this.events.push(m);
    else if (m.id === null) this.nullReplies.push(m);
    else {
      const p = this.#pending.get(m.id);
      if (!p) throw new Error(`reply for unknown id ${JSON.stringify(m.id)}: ${JSON.stringify(m)}`);
      if ('stream' in m) p.streams.push({ stream: m.stream, data: Buffer.from(m.data, 'base64') });
      else {
        this.#pending.delete(m.id);
        const text = (s: string) =>
          Buffer.concat(p.streams.filter((x) => x.stream === s).map((x) => x.data)).toString('utf8');
        p.resolve({ reply: m, streams: p.streams, stdout: text('stdout'), stderr: text('stderr') });
      }
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Sends a raw line; `id` (if given) is the id the line carries, so its reply is routed. */
  raw(line: string, id?: unknown): Promise<Result> {
    const done = new Promise<Result>((resolve) => {
      if (id !== undefined) this.#pending.set(id, { streams: [], resolve });
    });
    this.proc.stdin.write(line + '\n');
    return done;
  }

  req(op: string, params: Msg = {}): Promise<Result> {
    const id = this.#nextId++;
    return this.raw(JSON.stringify({ id, op, ...params }), id);
  }

  /** Request that must succeed; returns the reply. */
  async ok(op: string, params: Msg = {}): Promise<Msg> {
    const r = await this.req(op, params);
    if (!r.reply.ok) throw new Error(`${op} failed: ${r.reply.error}`);
    return r.reply;
  }

  async waitFor(pred: () => boolean, ms = 5000) {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting for agent output');
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async close(): Promise<number | null> {
    this.proc.stdin.end();
    if (this.proc.exitCode !== null) return this.proc.exitCode;
    return new Promise((r) => this.proc.on('exit', (code) => r(code)));
  }
}

const enc = (s: string) => Buffer.from(s).toString('base64');
const MT = new Date(1_600_000_000_000); // fixed mtimes so round trips compare exactly

function file(name: string, body: string, extra: Partial<TarHeader> = {}) {
  return { header: { name, size: Buffer.byteLength(body), type: 'file' as const, mode: 0o644, mtime: MT, uid: 0, gid: 0, ...extra }, body };
}
function entry(name: string, type: TarHeader['type'], extra: Partial<TarHeader> = {}) {
  return { header: { name, size: 0, type, mode: type === 'directory' ? 0o755 : 0o777, mtime: MT, uid: 0, gid: 0, ...extra } };
}

/** One raw ustar header block (for archives no tar writer would make). */
function ustarHeader(name: string, type: string, size: number, link = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write(link, 157, 100);
  h.write('ustar\u000000', 257);
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}
/** A tar of raw members: header + body padded to 512, then the end-of-archive blocks. */
function rawTar(members: { name: string; type: string; body?: Buffer | string; size?: number; link?: string }[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const body = Buffer.from(m.body ?? '');
    parts.push(ustarHeader(m.name, m.type, m.size ?? body.length, m.link), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}
/** A pax record "<len> key=value\n" with its own length. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len++;
  return `${len}${rest}`;
}

describe.skipIf(!!skipReason)('guest agent (native build, --stdio)', () => {
  let tmp: string;
  let bin: string;
  let agent: Agent;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'layerlab-agent-'));
    bin = path.join(tmp, 'agent');
    // LAYERLAB_AGENT_M32=1 runs the whole suite against the i386 static build (the guest's binary)
    const m32 = process.env.LAYERLAB_AGENT_M32 === '1' ? ['-m32', '-static'] : [];
    execFileSync('gcc', [...m32, '-O1', '-Wall', '-Wextra', '-Werror', '-o', bin, ...SRC], { stdio: 'pipe' });
    if (m32.length) {
      // run the i386 build under qemu-user, explicitly (the kernel may lack IA32 emulation)
      const real = `${bin}.i386`;
      fs.renameSync(bin, real);
      fs.writeFileSync(bin, `#!/bin/sh\nexec qemu-i386-static -0 "$0" ${real} "$@"\n`, { mode: 0o755 });
    }
    agent = new Agent(bin);
  }, 120_000);

  afterAll(async () => {
    if (agent) expect(await agent.close()).toBe(0);
    if (tmp) {
      spawnSync('umount', ['-l', path.join(tmp, 'ovl', 'merged')]);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('says ready on start and on hello', async () => {
    await agent.waitFor(() => agent.events.length > 0);
    expect(agent.events[0]).toEqual({ event: 'ready', version: 1 });
    const r = await agent.req('hello');
    expect(r.reply).toEqual({ id: r.reply.id, ok: true, version: 1 });
    expect(agent.events.filter((e) => e.event === 'ready')).toHaveLength(2);
  });

  // The layer every unpack/pack test uses, in exactly the order `pack` writes it back (depth first, names
  // sorted, a dir's .wh..wh..opq right after the dir), with the metadata `pack` produces for whiteouts.
  const longName = 'deep/' + 'n'.repeat(120) + '.txt';
  const layer = [
    entry('bin/', 'directory'),
    file('bin/tool', '#!/bin/sh\necho tool\n', { mode: 0o4755, uid: 1000, gid: 1001 }),
    entry('deep/', 'directory', { mode: 0o700 }),
    entry('deep/emptyopq/', 'directory'),
    file('deep/emptyopq/.wh..wh..opq', '', { mode: 0o755 }),
    file(longName, 'long name via pax\n'),
    entry('etc/', 'directory'),
    file('etc/.wh.removed', '', { mode: 0o600 }),
    file('etc/config', 'key=value\n', { mode: 0o640 }),
    entry('etc/hard', 'link', { linkname: 'etc/config', mode: 0o640 }),
    entry('etc/link', 'symlink', { linkname: '../bin/tool' }),
    entry('etc/longlink', 'symlink', { linkname: '/' + 'x'.repeat(150) }),
    entry('opaque/', 'directory', { mode: 0o750, uid: 5, gid: 6 }),
    file('opaque/.wh..wh..opq', '', { mode: 0o750, uid: 5, gid: 6 }),
    file('opaque/kept', 'kept\n'),
  ];

  it('unpacks a layer: files, dirs, symlinks, hardlinks, whiteouts, opaque dirs, long names', async () => {
    const tar = path.join(tmp, 'layer.tar');
    fs.writeFileSync(tar, await packTar(layer));
    const dest = path.join(tmp, 'lower');
    const r = await agent.ok('unpack', { tar, dest });
    expect(r.entries).toBe(layer.length);
    expect(r.bytes).toBe(fs.statSync(tar).size);

    const st = (p: string) => fs.lstatSync(path.join(dest, p));
    expect(fs.readFileSync(path.join(dest, 'etc/config'), 'utf8')).toBe('key=value\n');
    expect(st('bin/tool').mode & 0o7777).toBe(0o4755); // setuid survives chown
    expect([st('bin/tool').uid, st('bin/tool').gid]).toEqual([1000, 1001]);
    expect(st('bin/tool').mtimeMs).toBe(MT.getTime());
    expect(st('deep').mode & 0o7777).toBe(0o700);
    expect(st('deep').mtimeMs).toBe(MT.getTime()); // dirs' mtimes set after their contents
    expect(st('etc/hard').ino).toBe(st('etc/config').ino);
    expect(fs.readlinkSync(path.join(dest, 'etc/link'))).toBe('../bin/tool');
    expect(fs.readlinkSync(path.join(dest, 'etc/longlink'))).toBe('/' + 'x'.repeat(150));
    expect(fs.readFileSync(path.join(dest, longName), 'utf8')).toBe('long name via pax\n');
    // whiteout: char device 0:0 under the real name, no .wh. file
    expect(st('etc/removed').isCharacterDevice()).toBe(true);
    expect(st('etc/removed').rdev).toBe(0);
    expect(fs.existsSync(path.join(dest, 'etc/.wh.removed'))).toBe(false);
    expect(fs.existsSync(path.join(dest, 'opaque/.wh..wh..opq'))).toBe(false);
    const getfattr = spawnSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(dest, 'opaque')]);
    if (getfattr.status === 0) expect(getfattr.stdout.toString()).toBe('y');
  });

  it('lists a dir with types, modes, links and the opaque flag, sorted', async () => {
    const r = await agent.ok('list', { dir: path.join(tmp, 'lower') });
    const byPath = Object.fromEntries(r.entries.map((e: Msg) => [e.path, e]));
    expect(r.entries.map((e: Msg) => e.path)).toEqual([
      '/bin', '/bin/tool', '/deep', '/deep/emptyopq', '/' + longName, '/etc', '/etc/config', '/etc/hard', '/etc/link',
      '/etc/longlink', '/etc/removed', '/opaque', '/opaque/kept',
    ]);
    expect(byPath['/bin/tool']).toEqual({
      path: '/bin/tool', type: 'f', mode: 0o4755, size: 20, uid: 1000, gid: 1001, mtime: 1_600_000_000,
    });
    expect(byPath['/etc/removed'].type).toBe('w');
    expect(byPath['/etc/link']).toMatchObject({ type: 'l', link: '../bin/tool' });
    expect(byPath['/opaque']).toMatchObject({ type: 'd', opaque: true, mode: 0o750, uid: 5, gid: 6 });
    expect(byPath['/etc'].opaque).toBeUndefined();
    expect(byPath['/deep']).toMatchObject({ type: 'd', size: 0, mode: 0o700 });
  });

  it('packs the dir back into the same layer, deterministically', async () => {
    const out = path.join(tmp, 'repacked.tar');
    const r = await agent.ok('pack', { dir: path.join(tmp, 'lower'), tar: out });
    const bytes = fs.readFileSync(out);
    expect(r.bytes).toBe(bytes.length);
    const entries = await unpackTar(bytes);
    expect(r.entries).toBe(entries.length); // pax headers are not counted
    const norm = (h: TarHeader) => ({
      name: h.name, type: h.type, mode: h.mode, uid: h.uid, gid: h.gid, size: h.size,
      mtime: h.mtime?.getTime(), linkname: h.linkname || undefined,
    });
    expect(entries.map((e) => norm(e.header))).toEqual(layer.map((e) => norm(e.header as TarHeader)));
    const bodies = Object.fromEntries(entries.map((e) => [e.header.name, Buffer.from(e.data ?? []).toString()]));
    expect(bodies['bin/tool']).toBe('#!/bin/sh\necho tool\n');
    // GNU tar agrees it is a valid archive
    expect(execFileSync('tar', ['-tf', out]).toString().split('\n')).toContain(longName);
    // a second pack is byte-identical
    const again = path.join(tmp, 'repacked2.tar');
    await agent.ok('pack', { dir: path.join(tmp, 'lower'), tar: again });
    expect(fs.readFileSync(again).equals(bytes)).toBe(true);
  });

  it('reads GNU long names and pax archives written by GNU tar', async () => {
    const src = path.join(tmp, 'gnu-src');
    const long = 'd'.repeat(60) + '/' + 'f'.repeat(90);
    fs.mkdirSync(path.join(src, 'd'.repeat(60)), { recursive: true });
    fs.writeFileSync(path.join(src, long), 'gnu\n');
    fs.symlinkSync('t'.repeat(120), path.join(src, 'longsym'));
    for (const format of ['gnu', 'posix']) {
      const tar = path.join(tmp, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '-C', src, '-cf', tar, '.']);
      const dest = path.join(tmp, `${format}-out`);
      await agent.ok('unpack', { tar, dest });
      expect(fs.readFileSync(path.join(dest, long), 'utf8')).toBe('gnu\n');
      expect(fs.readlinkSync(path.join(dest, 'longsym'))).toBe('t'.repeat(120));
    }
  });

  it('refuses hostile tars and writes nothing outside dest', async () => {
    const base = path.join(tmp, 'hostile');
    const outside = path.join(base, 'outside');
    fs.mkdirSync(outside, { recursive: true });
    const cases: [string, any[], string][] = [
      ['dotdot', [file('../x', 'evil')], '../x'],
      ['dotdot-deep', [file('a/../../x', 'evil')], 'a/../../x'],
      ['hardlink', [entry('l', 'link', { linkname: '../outside/target' })], 'l'],
      ['symlink-walk', [entry('esc', 'symlink', { linkname: outside }), file('esc/pwned', 'evil')], 'esc/pwned'],
    ];
    fs.writeFileSync(path.join(outside, 'target'), 'secret');
    for (const [name, entries, bad] of cases) {
      const tar = path.join(base, `${name}.tar`);
      fs.writeFileSync(tar, await packTar(entries));
      const r = await agent.req('unpack', { tar, dest: path.join(base, name) });
      expect(r.reply.ok, name).toBe(false);
      expect(r.reply.error).toContain('unpack: ');
      expect(r.reply.error).toContain(bad);
    }
    expect(fs.readdirSync(outside)).toEqual(['target']);
    expect(fs.existsSync(path.join(base, 'x'))).toBe(false);
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
    expect(fs.existsSync(path.join(base, 'hardlink', 'l'))).toBe(false);

    // a leading '/' is stripped (as Docker does): the entry lands inside dest
    const abs = `/layerlab-agent-test-${process.pid}`;
    const tar = path.join(base, 'abs.tar');
    fs.writeFileSync(tar, await packTar([file(abs, 'inside')]));
    await agent.ok('unpack', { tar, dest: path.join(base, 'abs') });
    expect(fs.existsSync(abs)).toBe(false);
    expect(fs.readFileSync(path.join(base, 'abs', abs), 'utf8')).toBe('inside');

    // garbage and truncated archives are errors, not crashes
    fs.writeFileSync(path.join(base, 'junk.tar'), Buffer.alloc(1024, 0x41));
    const junk = await agent.req('unpack', { tar: path.join(base, 'junk.tar'), dest: path.join(base, 'junk') });
    expect(junk.reply.error).toMatch(/checksum/);
    const good = await packTar([file('big', 'x'.repeat(5000))]);
    fs.writeFileSync(path.join(base, 'trunc.tar'), good.subarray(0, 2048));
    const tr = await agent.req('unpack', { tar: path.join(base, 'trunc.tar'), dest: path.join(base, 'trunc') });
    expect(tr.reply.error).toMatch(/truncated/);
    const missing = await agent.req('unpack', { tar: path.join(base, 'nope.tar'), dest: path.join(base, 'n') });
    expect(missing.reply.error).toBe(`unpack: ${path.join(base, 'nope.tar')}: open: No such file or directory`);
  });

  it('refuses a pax record whose length wraps around the buffer (no out-of-bounds access, under ASan)', async () => {
    const base = path.join(tmp, 'paxwrap');
    fs.mkdirSync(base);
    // An AddressSanitizer build of the same source: an out-of-bounds read is a crash report, not luck.
    const asanBin = path.join(base, 'agent-asan');
    execFileSync('gcc', ['-fsanitize=address', '-g', '-O1', '-o', asanBin, ...SRC], { stdio: 'pipe' });
    const asan = new Agent(asanBin, { ASAN_OPTIONS: 'detect_leaks=0' });
    // Third record's length = 2^64 - len(second): `i + len` wraps to the end of the first record, whose
    // newline passed the old check: the record then "ended" before its key, the value length went negative
    // (an xattr value made the agent allocate ~2^64 bytes and die) and the loop restarted at record two.
    const r1 = paxRecord('comment', 'a');
    const r2 = paxRecord('comment', 'bb');
    const wrapLen = (2n ** 64n - BigInt(r2.length)).toString();
    const bodies = [
      r1 + r2 + `${wrapLen} SCHILY.xattr.user.x=y\n`,
      r1 + r2 + `${wrapLen} path=x\n`,
      `99999 path=x\n`, // longer than the body
      `${'9'.repeat(40)} path=x\n`, // overflows while the digits are read
    ];
    for (const [i, body] of bodies.entries()) {
      const tar = path.join(base, `wrap${i}.tar`);
      fs.writeFileSync(tar, rawTar([{ name: 'PaxHeaders/f', type: 'x', body }, { name: 'f', type: '0', body: 'x' }]));
      const r = await Promise.race([
        asan.req('unpack', { tar, dest: path.join(base, `out${i}`) }),
        new Promise<never>((_, reject) => asan.proc.on('exit', (code) => reject(new Error(`agent died (exit ${code}) on case ${i}`)))),
      ]);
      expect(r.reply.ok).toBe(false);
      expect(r.reply.error).toBe(`unpack: ${tar}: malformed pax header at offset 0`);
    }
    expect((await asan.req('hello')).reply.ok).toBe(true);
    expect(await asan.close()).toBe(0);
  }, 120_000); // compiles an ASan build first: slow on a busy machine

  it('refuses what the host tar reader would read differently: global path/linkpath/size, sizes on bodyless types', async () => {
    const base = path.join(tmp, 'disagree');
    fs.mkdirSync(base);
    const unpack = async (name: string, members: Parameters<typeof rawTar>[0]) => {
      const tar = path.join(base, `${name}.tar`);
      fs.writeFileSync(tar, rawTar(members));
      return (await agent.req('unpack', { tar, dest: path.join(base, name) })).reply;
    };
    for (const key of ['path', 'linkpath', 'size']) {
      const r = await unpack(`g-${key}`, [
        { name: 'pax_global_header', type: 'g', body: paxRecord(key, key === 'size' ? '3' : 'etc/passwd') },
        { name: 'f', type: '0', body: 'abc' },
      ]);
      expect(r.ok, key).toBe(false);
      expect(r.error).toBe(
        `unpack: ${base}/g-${key}.tar: global pax header "pax_global_header" at offset 0 sets "${key}" for all later entries; refusing (tar readers disagree on it)`,
      );
    }
    // a global header with other records changes nothing and is accepted
    const fine = await unpack('g-comment', [
      { name: 'pax_global_header', type: 'g', body: paxRecord('comment', 'made by a test') },
      { name: 'f', type: '0', body: 'abc' },
    ]);
    expect(fine.ok).toBe(true);
    expect(fs.readFileSync(path.join(base, 'g-comment', 'f'), 'utf8')).toBe('abc');
    const bodyless: [string, string][] = [['1', 'hardlink'], ['2', 'symlink'], ['3', 'char'], ['4', 'block'], ['5', 'dir'], ['6', 'fifo']];
    for (const [type, name] of bodyless) {
      const r = await unpack(`sized-${name}`, [
        { name: 'target', type: '0', body: 'abc' },
        { name, type, size: 512, body: Buffer.alloc(512, 0x41), link: 'target' },
      ]);
      expect(r.ok, name).toBe(false);
      expect(r.error).toBe(
        `unpack: ${base}/sized-${name}.tar: entry "${name}" (type '${type}') has no body but a size of 512 bytes; refusing`,
      );
    }
    // a pax size on a symlink counts too
    const paxSized = await unpack('pax-sized', [
      { name: 'PaxHeaders/l', type: 'x', body: paxRecord('size', '7') },
      { name: 'l', type: '2', link: 'target' },
    ]);
    expect(paxSized.error).toMatch(/entry "l" \(type '2'\) has no body but a size of 7 bytes; refusing$/);
  });

  it('says an error once when an entry goes through a symlinked parent', async () => {
    const base = path.join(tmp, 'once');
    const tar = path.join(base, 'esc.tar');
    fs.mkdirSync(base);
    fs.writeFileSync(tar, await packTar([entry('esc', 'symlink', { linkname: '/etc' }), file('esc/pwned', 'evil')]));
    const r = await agent.req('unpack', { tar, dest: path.join(base, 'out') });
    expect(r.reply.error).toBe(
      `unpack: ${tar}: entry "esc/pwned": esc: is not a directory (a symlink or file); refusing to write through it`,
    );
  });

  it('cpout / cpin resolve container paths inside the root, never following out (docker cp)', async () => {
    const base = path.join(tmp, 'cp');
    const root = path.join(base, 'rootfs');
    fs.mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc', 'hostname'), 'container\n');
    fs.writeFileSync(path.join(base, 'secret'), 'outside\n'); // next to the root: must stay unreachable
    fs.symlinkSync('/usr/bin', path.join(root, 'app')); // absolute: means the container's /usr/bin
    fs.symlinkSync('../../..', path.join(root, 'up'));
    const names = async (tar: string) => (await unpackTar(fs.readFileSync(tar))).map((e) => e.header.name);

    const out = path.join(base, 'out.tar');
    // ".." and symlinks never leave the root: these name the container's own files or nothing
    const escape = await agent.req('cpout', { root, path: '/../../../secret', tar: out });
    expect(escape.reply).toMatchObject({ ok: false, error: 'cpout: /../../../secret: No such file or directory' });
    const viaLink = await agent.req('cpout', { root, path: '/up/secret', tar: out });
    expect(viaLink.reply.error).toBe('cpout: /up/secret: No such file or directory');
    await agent.ok('cpout', { root, path: '/../etc/hostname', tar: out });
    const got = await unpackTar(fs.readFileSync(out));
    expect(got.map((e) => [e.header.name, Buffer.from(e.data ?? []).toString()])).toEqual([['hostname', 'container\n']]);
    await agent.ok('cpout', { root, path: '/etc', tar: out });
    expect(await names(out)).toEqual(['etc/', 'etc/hostname']);
    await agent.ok('cpout', { root, path: '/app', tar: out }); // the link itself, not followed
    expect((await unpackTar(fs.readFileSync(out)))[0].header).toMatchObject({ name: 'app', type: 'symlink', linkname: '/usr/bin' });
    await agent.ok('cpout', { root, path: '/..', tar: out }); // the root itself
    expect(await names(out)).toContain('./etc/hostname');
    expect((await names(out)).some((n) => n.includes('secret'))).toBe(false);

    // into an existing directory reached through an absolute symlink: the container's /usr/bin
    const tar = path.join(base, 'in.tar');
    fs.writeFileSync(tar, await packTar([file('tool', 'copied\n', { mode: 0o755 })]));
    await agent.ok('cpin', { root, path: '/app/', tar });
    expect(fs.readFileSync(path.join(root, 'usr', 'bin', 'tool'), 'utf8')).toBe('copied\n');
    expect(fs.existsSync('/usr/bin/tool')).toBe(false);
    // as a new name; through ".." and a relative symlink that would climb out
    await agent.ok('cpin', { root, path: '/../../renamed', tar });
    expect(fs.readFileSync(path.join(root, 'renamed'), 'utf8')).toBe('copied\n');
    await agent.ok('cpin', { root, path: '/up/etc', tar });
    expect(fs.readFileSync(path.join(root, 'etc', 'tool'), 'utf8')).toBe('copied\n');
    expect(fs.readdirSync(base).sort()).toEqual(['in.tar', 'out.tar', 'rootfs', 'secret']);
    // a directory tree as a new name, and what is refused
    fs.writeFileSync(tar, await packTar([entry('d/', 'directory'), file('d/x', 'x'), entry('d/l', 'link', { linkname: 'd/x' })]));
    await agent.ok('cpin', { root, path: '/copy', tar });
    expect(fs.readFileSync(path.join(root, 'copy', 'l'), 'utf8')).toBe('x');
    const noParent = await agent.req('cpin', { root, path: '/missing/dir/f', tar });
    expect(noParent.reply.error).toBe('cpin: /missing/dir/f: No such file or directory');
    fs.writeFileSync(tar, await packTar([file('a', 'a'), file('b', 'b')]));
    const two = await agent.req('cpin', { root, path: '/new', tar });
    expect(two.reply.error).toMatch(/entry "b" is not under "a": the archive must hold one file or directory/);
    // names are kept as they are: no layer whiteouts in a copy
    fs.writeFileSync(tar, await packTar([file('.wh.keep', 'plain')]));
    await agent.ok('cpin', { root, path: '/etc', tar });
    expect(fs.readFileSync(path.join(root, 'etc', '.wh.keep'), 'utf8')).toBe('plain');
  });

  it('answers malformed requests with errors and keeps serving', async () => {
    const before = agent.nullReplies.length;
    agent.proc.stdin.write('this is not json\n{"id":1,\n[1,2]\n{"id": 3, "op": "hello"} trailing\n');
    await agent.waitFor(() => agent.nullReplies.length >= before + 4);
    for (const m of agent.nullReplies.slice(before)) {
      expect(m.ok).toBe(false);
      expect(m.error).toMatch(/malformed request/);
    }
    const cases: [string, unknown, RegExp][] = [
      ['{"id":900}', 900, /missing string parameter "op"/],
      ['{"id":901,"op":"frobnicate"}', 901, /^frobnicate: unknown op$/],
      ['{"id":902,"op":"list"}', 902, /^list: missing string parameter "dir"/],
      ['{"id":903,"op":"list","dir":42}', 903, /must be a string/],
      ['{"id":904,"op":"list","dir":"relative/path"}', 904, /absolute path/],
      ['{"id":905,"op":"write","path":"/tmp/x\\u0000y","data":""}', 905, /NUL/],
      ['{"id":906,"op":"write","path":"/tmp/x","data":"!!!"}', 906, /base64/],
      ['{"id":"str\\"id","op":"nope"}', 'str"id', /unknown op/],
    ];
    for (const [line, id, re] of cases) {
      const r = await agent.raw(line, id);
      expect(r.reply.ok, line).toBe(false);
      expect(r.reply.error).toMatch(re);
    }
    const deep = '['.repeat(1000);
    agent.proc.stdin.write(`{"id":1,"x":${deep}\n`);
    await agent.waitFor(() => agent.nullReplies.length >= before + 5);
    expect((await agent.req('hello')).reply.ok).toBe(true);
  });

  it('spawns programs, streams output, passes stdin, reports exit codes', async () => {
    const echo = await agent.req('spawn', { argv: ['/bin/echo', 'hi'] });
    expect(echo.reply).toMatchObject({ ok: true, exit: 0 });
    expect(echo.stdout).toBe('hi\n');

    const sh = await agent.req('spawn', {
      argv: ['sh', '-c', 'echo out; echo err >&2; pwd; echo "$FOO"; exit 3'],
      cwd: tmp,
      env: ['FOO=bar', 'PATH=/usr/bin:/bin'],
    });
    expect(sh.reply.exit).toBe(3);
    expect(sh.stdout).toBe(`out\n${tmp}\nbar\n`);
    expect(sh.stderr).toBe('err\n');

    const killed = await agent.req('spawn', { argv: ['sh', '-c', 'kill -9 $$'] });
    expect(killed.reply.exit).toBe(137);

    // more stdin than a pipe buffer holds, echoed back: no deadlock between feeding and draining
    const big = Buffer.alloc(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    const cat = await agent.req('spawn', { argv: ['cat'], stdin: big.toString('base64') });
    expect(cat.reply.exit).toBe(0);
    expect(Buffer.concat(cat.streams.map((s) => s.data)).equals(big)).toBe(true);

    const bad = await agent.req('spawn', { argv: ['/nonexistent/prog'] });
    expect(bad.reply.ok).toBe(false);
    expect(bad.reply.error).toBe('spawn: /nonexistent/prog: exec: No such file or directory');
  });

  it('serves requests while others are in flight', async () => {
    const slow = agent.req('spawn', { argv: ['sh', '-c', 'sleep 0.4; echo slow'] });
    const slow2 = agent.req('spawn', { argv: ['sh', '-c', 'sleep 0.2; echo slow2'] });
    const fast = agent.req('list', { dir: path.join(tmp, 'lower') });
    const order: string[] = [];
    await Promise.all([
      slow.then(() => order.push('slow')),
      slow2.then(() => order.push('slow2')),
      fast.then(() => order.push('fast')),
    ]);
    expect(order).toEqual(['fast', 'slow2', 'slow']);
    expect((await slow).stdout).toBe('slow\n');
    expect((await slow2).stdout).toBe('slow2\n');
  });

  it('relays TCP connections: tcp-connect, tcp-send, tcp-data events, half-close, errors', async () => {
    // An echo server that upper-cases what it gets and closes after the client's half-close.
    const net = await import('node:net');
    const server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      socket.on('end', () => socket.end(Buffer.concat(chunks).toString().toUpperCase()));
    });
    await new Promise<void>((resolve) => server.listen(15341, '127.0.0.1', resolve));
    try {
      const { conn } = await agent.ok('tcp-connect', { ip: '127.0.0.1', port: 15341 });
      expect(typeof conn).toBe('number');
      const big = 'x'.repeat(300 * 1024); // above the 256 KiB backlog mark: answered once written
      await agent.ok('tcp-send', { conn, data: enc(`hello ${big}`) });
      await agent.ok('tcp-close', { conn, how: 'write' });
      await agent.waitFor(() => agent.events.some((e) => e.event === 'tcp-end' && e.conn === conn));
      const received = Buffer.concat(agent.events.filter((e) => e.event === 'tcp-data' && e.conn === conn).map((e) => Buffer.from(e.data, 'base64'))).toString();
      expect(received).toBe(`HELLO ${big.toUpperCase()}`);
      expect(agent.events.find((e) => e.event === 'tcp-end' && e.conn === conn)).toEqual({ event: 'tcp-end', conn });
      await agent.ok('tcp-close', { conn });
      expect((await agent.req('tcp-send', { conn, data: enc('late') })).reply.error).toBe(`tcp-send: no connection ${conn} (closed?)`);
    } finally {
      server.close();
    }
    expect((await agent.req('tcp-connect', { ip: '127.0.0.1', port: 15342 })).reply.error).toMatch(/^tcp-connect: connect 127\.0\.0\.1:15342: Connection refused/);
    expect((await agent.req('tcp-connect', { ip: 'localhost', port: 80 })).reply.error).toBe('tcp-connect: localhost is not an IPv4 address');
    expect((await agent.req('tcp-connect', { ip: '127.0.0.1', port: 0 })).reply.error).toBe('tcp-connect: port 0 is out of range (1-65535)');
    expect((await agent.req('tcp-close', { conn: 999, how: 'sideways' })).reply.ok).toBe(true); // unknown conn: already gone
  });

  it('layerlab-net-attach wires a veth pair into a process\'s network namespace (the OCI hook), or into one it makes ahead (--new)', () => {
    // Uses the host's iproute2 and util-linux (unshare, nsenter) to look at the result.
    const attach = path.join(tmp, 'layerlab-net-attach');
    fs.symlinkSync(bin, attach);
    // A private network namespace with a bridge, and a process in a namespace of its own to wire up.
    const script = [
      'ip link add br0 type bridge && ip addr add 10.9.0.1/24 dev br0 && ip link set br0 up',
      'unshare -n sleep 30 & P=$!; sleep 0.3',
      `echo "{\\"id\\":\\"c\\",\\"pid\\": $P,\\"status\\":\\"creating\\"}" | ${attach} - br0 eth0 10.9.0.2/24 02:42:0a:09:00:02 10.9.0.1 || exit 9`,
      'nsenter -t $P -n ip -o -4 addr show eth0; nsenter -t $P -n ip route; nsenter -t $P -n ip -o link show eth0',
      'ip -o link show master br0',
      `${attach} $P nobridge eth1 10.9.0.3/24 02:42:0a:09:00:03; echo "exit=$?"`,
      'kill $P',
      // A namespace made ahead, bound at a file, wired the same way; unbinding it lets it go.
      `${attach} --new ${tmp}/netns/ahead1 br0 eth0 10.9.0.4/24 02:42:0a:09:00:04 10.9.0.1 || exit 8`,
      `nsenter --net=${tmp}/netns/ahead1 ip -o -4 addr show eth0 | sed 's/^/ahead: /'`,
      'ip -o link show master br0 | grep -c vethahead10',
      `umount ${tmp}/netns/ahead1`,
    ].join('\n');
    const r = spawnSync('unshare', ['-n', 'sh', '-c', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/eth0\s+inet 10\.9\.0\.2\/24 brd 10\.9\.0\.255/);
    expect(r.stdout).toMatch(/default via 10\.9\.0\.1 dev eth0/);
    expect(r.stdout).toMatch(/link\/ether 02:42:0a:09:00:02/);
    expect(r.stdout).toMatch(/veth\d+@if\d+:.*master br0/);
    expect(r.stdout).toContain('exit=1');
    expect(r.stdout).toMatch(/ahead: \d+: eth0\s+inet 10\.9\.0\.4\/24/);
    expect(r.stdout).toMatch(/^1$/m);
    expect(r.stderr).toContain('layerlab-net-attach: nobridge: No such device');
  });

  it('write, read and rm', async () => {
    const f = path.join(tmp, 'files', 'a', 'b', 'c.txt');
    await agent.ok('write', { path: f, data: enc('hello\n'), mode: 0o600 });
    expect(fs.readFileSync(f, 'utf8')).toBe('hello\n');
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect((await agent.ok('read', { path: f })).data).toBe(enc('hello\n'));
    const uni = path.join(tmp, 'files', 'caf\u00e9 \u2603.txt');
    await agent.raw(JSON.stringify({ id: 'u', op: 'write', path: uni, data: enc('x') }).replace('\u00e9', '\\u00e9'), 'u');
    expect(fs.readFileSync(uni, 'utf8')).toBe('x');
    const listed = await agent.ok('list', { dir: path.join(tmp, 'files') });
    expect(listed.entries.map((e: Msg) => e.path)).toContain('/caf\u00e9 \u2603.txt');

    const big = path.join(tmp, 'files', 'big');
    fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
    expect((await agent.req('read', { path: big })).reply.error).toMatch(/too large/);
    expect((await agent.req('read', { path: path.join(tmp, 'nope') })).reply.error).toMatch(
      /^read: .*nope: open: No such file or directory$/,
    );

    await agent.ok('rm', { path: path.join(tmp, 'files') });
    expect(fs.existsSync(path.join(tmp, 'files'))).toBe(false);
    await agent.ok('rm', { path: path.join(tmp, 'files') }); // already gone: fine
    for (const p of ['/', '/etc', '/tmp', '/tmp/../etc', '/var/lib/layerlab']) {
      const r = await agent.req('rm', { path: p });
      expect(r.reply.ok, p).toBe(false);
      expect(r.reply.error).toMatch(/^rm: .*refusing/);
    }
    // a symlink into /etc must not lead rm outside the allowed roots
    const link = path.join(tmp, 'etc-link');
    fs.symlinkSync('/etc', link);
    expect((await agent.req('rm', { path: path.join(link, 'hostname') })).reply.error).toMatch(/refusing/);
    await agent.ok('rm', { path: link });
    expect(fs.existsSync('/etc')).toBe(true);
  });

  it('mounts overlayfs; the upper dir lists and packs as an OCI diff', async (ctx) => {
    const o = path.join(tmp, 'ovl');
    const lowerTar = path.join(o, 'lower.tar');
    fs.mkdirSync(o);
    fs.writeFileSync(
      lowerTar,
      await packTar([
        entry('app/', 'directory'), file('app/keep', 'keep'), file('app/old', 'old'),
        entry('data/', 'directory'), file('data/x', 'x'), file('data/y', 'y'),
      ]),
    );
    const lower = path.join(o, 'lower');
    await agent.ok('unpack', { tar: lowerTar, dest: lower });
    const upper = path.join(o, 'upper'), work = path.join(o, 'work'), merged = path.join(o, 'merged');
    const m = await agent.req('mount', { lowers: [lower], upper, work, target: merged });
    if (!m.reply.ok && /not permitted|No such device/.test(m.reply.error)) ctx.skip(); // no overlayfs here
    expect(m.reply).toMatchObject({ ok: true });
    try {
      expect(fs.readFileSync(path.join(merged, 'app/keep'), 'utf8')).toBe('keep');
      await agent.ok('write', { path: path.join(merged, 'app/new'), data: enc('new') });
      await agent.ok('rm', { path: path.join(merged, 'app/old') });
      const sh = await agent.req('spawn', { argv: ['sh', '-c', 'rm -rf data && mkdir data && echo z > data/z'], cwd: merged });
      expect(sh.reply.exit).toBe(0);

      const list = await agent.ok('list', { dir: upper });
      const summary = list.entries.map((e: Msg) => `${e.path}:${e.type}${e.opaque ? ':opaque' : ''}`);
      expect(summary).toEqual(['/app:d', '/app/new:f', '/app/old:w', '/data:d:opaque', '/data/z:f']);

      const diff = path.join(o, 'diff.tar');
      await agent.ok('pack', { dir: upper, tar: diff });
      const names = (await unpackTar(fs.readFileSync(diff))).map((e) => e.header.name);
      expect(names).toEqual(['app/', 'app/.wh.old', 'app/new', 'data/', 'data/.wh..wh..opq', 'data/z']);

      // the diff unpacks back to the same overlay form
      const again = path.join(o, 'again');
      await agent.ok('unpack', { tar: diff, dest: again });
      const list2 = await agent.ok('list', { dir: again });
      expect(list2.entries.map((e: Msg) => `${e.path}:${e.type}${e.opaque ? ':opaque' : ''}`)).toEqual(summary);
    } finally {
      await agent.ok('umount', { target: merged });
    }
    expect(fs.existsSync(path.join(merged, 'app'))).toBe(false);
    expect((await agent.req('umount', { target: merged })).reply.error).toMatch(/^umount: /);

    // no lowers: an empty lower dir is used
    const e = path.join(o, 'empty-case');
    await agent.ok('mount', { lowers: [], upper: `${e}/upper`, work: `${e}/work`, target: `${e}/merged` });
    expect(fs.readdirSync(`${e}/merged`)).toEqual([]);
    await agent.ok('umount', { target: `${e}/merged` });
  });

  it('mounts a size-limited tmpfs once: a second call on the mountpoint leaves it as it is', async (ctx) => {
    const target = path.join(tmp, 'limited', 'c1');
    const first = await agent.req('tmpfs', { target, bytes: 1 << 20 });
    if (!first.reply.ok && /not permitted/.test(first.reply.error)) ctx.skip(); // not root here
    expect(first.reply).toMatchObject({ ok: true });
    try {
      fs.writeFileSync(path.join(target, 'kept'), 'kept');
      await agent.ok('tmpfs', { target, bytes: 1 << 20 });
      expect(fs.readFileSync(path.join(target, 'kept'), 'utf8')).toBe('kept');
      // the size is the limit: 2 MiB do not fit into 1 MiB
      const fill = await agent.req('spawn', { argv: ['dd', 'if=/dev/zero', `of=${target}/big`, 'bs=1024', 'count=2048'] });
      expect(fill.reply.exit).not.toBe(0);
    } finally {
      await agent.ok('umount', { target });
    }
    expect(fs.readdirSync(target)).toEqual([]);
    expect((await agent.req('tmpfs', { target, bytes: 0 })).reply.error).toMatch(/bytes.*positive/);
  });

  describe('run / signal / delete (stub crun)', () => {
    let stubAgent: Agent;
    let crunLog: string;
    let crunState: string;

    beforeAll(() => {
      const stub = path.join(tmp, 'crun-stub');
      crunLog = path.join(tmp, 'crun.log');
      fs.writeFileSync(
        stub,
        `#!/bin/sh
echo "$*" >> ${crunLog}
case "$1" in
run) cat "$3/config.json"; echo; echo "on stderr" >&2
     if [ "$4" = bg ]; then sleep 0.2; echo "bg done"; exit 0; fi
     if [ "$4" = made ]; then sleep 0.2; mkdir -p "$LAYERLAB_CRUN_STATE/made"; sleep 0.2; echo '{}' > "$LAYERLAB_CRUN_STATE/made/status.tmp"
       mv "$LAYERLAB_CRUN_STATE/made/status.tmp" "$LAYERLAB_CRUN_STATE/made/status"; sleep 0.3; exit 0; fi
     if [ "$4" = failed ]; then sleep 0.2; exit 3; fi
     read line; echo "stdin:$line"; exit 7 ;;
kill) [ "$2" = c1 ] && exit 0; echo "container $2 does not exist" >&2; exit 1 ;;
delete) exit 0 ;;
esac
`,
        { mode: 0o755 },
      );
      crunState = path.join(tmp, 'crun-state'); // made by the stub's first container, as crun makes /run/crun
      stubAgent = new Agent(bin, { LAYERLAB_CRUN: stub, LAYERLAB_CRUN_STATE: crunState });
    });
    afterAll(async () => {
      expect(await stubAgent.close()).toBe(0);
    });

    it('writes config.json verbatim and runs attached', async () => {
      const bundle = path.join(tmp, 'bundle1');
      const config = '{"ociVersion" :  "1.0.2", "process": {"args": ["sh"], "env": ["A=\\u00e9"]}, "n": [1.50, 2e3]}';
      const r = await stubAgent.raw(
        `{"id":77,"op":"run","name":"c1","bundle":"${bundle}","config": ${config} ,"stdin":"${enc('typed\n')}"}`,
        77,
      );
      expect(r.reply).toEqual({ id: 77, ok: true, exit: 7 });
      expect(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')).toBe(config);
      expect(r.stdout).toBe(`${config}\nstdin:typed\n`);
      expect(r.stderr).toBe('on stderr\n');
      expect(fs.readFileSync(crunLog, 'utf8')).toContain(`run --bundle ${bundle} c1`);
    });

    it('runs detached: pid at once, output and exit as events', async () => {
      const bundle = path.join(tmp, 'bundle2');
      const r = await stubAgent.req('run', { name: 'bg', bundle, config: { a: 1 }, detach: true });
      expect(r.reply.ok).toBe(true);
      expect(r.reply.pid).toBeGreaterThan(0);
      await stubAgent.waitFor(() => stubAgent.events.some((e) => e.event === 'exit'));
      const evs = stubAgent.events.filter((e) => e.name === 'bg');
      const out = Buffer.concat(evs.filter((e) => e.event === 'output' && e.stream === 'stdout').map((e) => Buffer.from(e.data, 'base64')));
      expect(out.toString()).toBe('{"a":1}\nbg done\n');
      expect(evs.at(-1)).toEqual({ event: 'exit', name: 'bg', code: 0 });
    });

    it('waitCreated: answers once crun has renamed its status into place, before the exit event', async () => {
      expect(fs.existsSync(crunState)).toBe(false);
      const r = await stubAgent.req('run', { name: 'made', bundle: path.join(tmp, 'bundle3'), config: {}, detach: true, waitCreated: true });
      expect(r.reply).toMatchObject({ ok: true, created: true });
      expect(r.reply.pid).toBeGreaterThan(0);
      expect(fs.existsSync(path.join(crunState, 'made', 'status'))).toBe(true);
      expect(stubAgent.events.some((e) => e.event === 'exit' && e.name === 'made')).toBe(false);
      await stubAgent.waitFor(() => stubAgent.events.some((e) => e.event === 'exit' && e.name === 'made'));
    });

    it('waitCreated: a crun that exits without state answers created: false, then its exit event', async () => {
      const r = await stubAgent.req('run', { name: 'failed', bundle: path.join(tmp, 'bundle4'), config: {}, detach: true, waitCreated: true });
      expect(r.reply).toMatchObject({ ok: true, created: false });
      await stubAgent.waitFor(() => stubAgent.events.some((e) => e.event === 'exit' && e.name === 'failed'));
      const order = stubAgent.order.filter((m) => m.id === r.reply.id || (m.event === 'exit' && m.name === 'failed'));
      expect(order.map((m) => m.event ?? 'reply')).toEqual(['reply', 'exit']);
      expect(order[1]).toEqual({ event: 'exit', name: 'failed', code: 3 });
    });

    it('waitCreated needs detach', async () => {
      const r = await stubAgent.req('run', { name: 'x', bundle: path.join(tmp, 'bundle5'), config: {}, waitCreated: true });
      expect(r.reply.error).toBe('run: parameter "waitCreated" needs "detach": true');
      expect((await stubAgent.req('run', { name: 'x', bundle: path.join(tmp, 'bundle5'), config: {}, detach: true, waitCreated: 1 })).reply.error).toMatch(/must be a boolean/);
    });

    it('signal and delete call crun and report its errors', async () => {
      expect((await stubAgent.req('signal', { name: 'c1', signal: 15 })).reply).toMatchObject({ ok: true });
      const bad = await stubAgent.req('signal', { name: 'ghost', signal: 9 });
      expect(bad.reply.error).toBe('signal: ghost: crun exited with 1: container ghost does not exist');
      expect((await stubAgent.req('delete', { name: 'c1' })).reply).toMatchObject({ ok: true });
      expect((await stubAgent.req('delete', { name: '-rf' })).reply.error).toMatch(/invalid container name/);
      const log = fs.readFileSync(crunLog, 'utf8');
      expect(log).toContain('kill c1 15');
      expect(log).toContain('delete -f c1');
    });
  });

  describe('guest docker client over the agent socket', () => {
    let dAgent: Agent;
    let docker: string;
    let sock: string;
    const send = (m: Msg) => dAgent.proc.stdin.write(JSON.stringify(m) + '\n');
    const runDocker = (args: string[], input?: string) => {
      const p = spawn(docker, args, { cwd: tmp, env: { ...process.env, LAYERLAB_DOCKER_SOCK: sock } });
      let stdout = '', stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      if (input !== undefined) p.stdin.end(input);
      const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
      return { p, exited, out: () => ({ stdout, stderr }) };
    };
    const nextEvent = async (pred: (e: Msg) => boolean) => {
      await dAgent.waitFor(() => dAgent.events.some(pred));
      const i = dAgent.events.findIndex(pred);
      return dAgent.events.splice(i, 1)[0];
    };

    beforeAll(async () => {
      sock = path.join(tmp, 'docker.sock');
      docker = path.join(tmp, 'docker');
      fs.symlinkSync(bin, docker); // multi-call: argv[0] "docker" makes it the client
      dAgent = new Agent(bin, { LAYERLAB_DOCKER_SOCK: sock });
      await dAgent.waitFor(() => dAgent.events.some((e) => e.event === 'ready'));
    });
    afterAll(async () => {
      expect(await dAgent.close()).toBe(0);
    });

    it('forwards the command, output, exec of a program and the exit code', async () => {
      const d = runDocker(['build', '-t', 'app', '.']);
      const cli = await nextEvent((e) => e.event === 'cli');
      expect(cli).toMatchObject({ argv: ['build', '-t', 'app', '.'], cwd: tmp, tty: false });
      send({ op: 'cli-output', cid: cli.cid, stream: 'stdout', data: enc('step 1\n') });
      send({ op: 'cli-exec', cid: cli.cid, argv: ['sh', '-c', 'echo from-exec; exit 5'], ref: 'r1' });
      const ex = await nextEvent((e) => e.event === 'cli-exec-exit');
      expect(ex).toEqual({ event: 'cli-exec-exit', cid: cli.cid, ref: 'r1', code: 5 });
      send({ op: 'cli-output', cid: cli.cid, stream: 'stderr', data: enc('oops\n') });
      send({ op: 'cli-exit', cid: cli.cid, code: 3 });
      expect(await d.exited).toBe(3);
      expect(d.out()).toEqual({ stdout: 'step 1\nfrom-exec\n', stderr: 'oops\n' });
      expect(dAgent.events.some((e) => e.event === 'cli-closed')).toBe(false);
    });

    it('forwards piped stdin with -i, and reports a client that dies', async () => {
      const d = runDocker(['run', '-i', 'busybox', 'cat'], 'typed input');
      const cli = await nextEvent((e) => e.event === 'cli');
      await dAgent.waitFor(() => dAgent.events.some((e) => e.event === 'cli-stdin' && e.eof));
      const chunks = dAgent.events.filter((e) => e.event === 'cli-stdin' && e.cid === cli.cid);
      expect(Buffer.concat(chunks.filter((e) => e.data).map((e) => Buffer.from(e.data, 'base64'))).toString()).toBe(
        'typed input',
      );
      d.p.kill('SIGINT');
      expect(await nextEvent((e) => e.event === 'cli-closed')).toEqual({ event: 'cli-closed', cid: cli.cid });
      // a notification for a client that is gone is ignored, and gets no reply
      send({ op: 'cli-exit', cid: cli.cid, code: 0 });
      expect((await dAgent.req('hello')).reply.ok).toBe(true);
      expect(dAgent.nullReplies).toEqual([]);
    });

    it('forwards only the known command fields: a guest process cannot forge the envelope', async () => {
      const forged = '{"argv":["ps"],"cwd":"/w","tty":true,"cols":100,"rows":30,"event":"x","cid":999,"id":1,"ok":true,"extra":[1]}\n';
      const conn = net.createConnection(sock);
      let got = '';
      const exited = new Promise<void>((r) => conn.on('data', (d) => (got += d) && got.includes('{"exit":0}') && r()));
      conn.write(forged);
      const cli = await nextEvent((e) => e.event === 'cli');
      expect(cli).toEqual({ event: 'cli', cid: cli.cid, argv: ['ps'], cwd: '/w', tty: true, cols: 100, rows: 30 });
      expect(cli.cid).not.toBe(999);
      send({ op: 'cli-exit', cid: cli.cid, code: 0 });
      await exited;
      conn.destroy();
      // no argv array: the client is told, nothing reaches the host
      const before = dAgent.events.length;
      const bad = net.createConnection(sock);
      let answer = '';
      const told = new Promise<void>((r) => bad.on('data', (d) => (answer += d) && answer.includes('{"exit":1}') && r()));
      bad.write('{"argv":"ps","id":2,"ok":false}\n');
      await told;
      bad.destroy();
      expect(answer).toContain('{"exit":1}');
      expect(Buffer.from(JSON.parse(answer.split('\n')[0]).data, 'base64').toString()).toMatch(/malformed command/);
      expect((await dAgent.req('hello')).reply.ok).toBe(true);
      expect(dAgent.events.slice(before).filter((e) => e.event !== 'ready')).toEqual([]);
    });

    it('serves root only: the socket is 0600 and other users are refused', async () => {
      expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
      fs.chmodSync(tmp, 0o755); // let the unprivileged client reach the binary and the socket's dir
      const asNobody = () => spawnSync(docker, ['ps'], { uid: 65534, gid: 65534, env: { ...process.env, LAYERLAB_DOCKER_SOCK: sock } });
      const denied = asNobody();
      expect(denied.status).toBe(1);
      expect(denied.stderr.toString()).toMatch(/cannot reach the Layerlab engine at .*: Permission denied/);
      fs.chmodSync(sock, 0o666); // past the mode, the agent checks the peer's uid itself
      const refused = asNobody();
      fs.chmodSync(sock, 0o600);
      expect(refused.status).toBe(1);
      expect(refused.stderr.toString()).toBe('docker: permission denied: only root may use the Layerlab engine\n');
      expect(dAgent.events.some((e) => e.event === 'cli' && e.argv?.[0] === 'ps' && e.cwd !== '/w')).toBe(false);
    });

    it('fails clearly when no agent listens', async () => {
      const p = spawnSync(docker, ['ps'], { env: { ...process.env, LAYERLAB_DOCKER_SOCK: path.join(tmp, 'none.sock') } });
      expect(p.status).toBe(1);
      expect(p.stderr.toString()).toMatch(/cannot reach the Layerlab engine/);
    });
  });
});

describe.skipIf(!hasGcc && !mustRun)('guest agent i386 build', () => {
  it('compiles with gcc -m32 -static -Os without warnings', (ctx) => {
    const probe = spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | gcc -m32 -static -x c -o /dev/null -'], {
      stdio: 'pipe',
    });
    if (probe.status !== 0 && mustRun) throw new Error('gcc -m32 -static does not work (apt-get install gcc-multilib libc6-dev-i386)');
    if (probe.status !== 0) ctx.skip(); // no i386 libc here (apt-get install gcc-multilib libc6-dev-i386)
    const out = path.join(os.tmpdir(), `layerlab-agent32-${process.pid}`);
    const r = spawnSync('gcc', ['-m32', '-static', '-Os', '-Wall', '-Wextra', '-o', out, ...SRC], { encoding: 'utf8' });
    fs.rmSync(out, { force: true });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
