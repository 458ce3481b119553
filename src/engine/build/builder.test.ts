/**
 * The builder on the in-memory guest (no VM): what each instruction makes of the image (layers, config,
 * history), the cache, and errors that name the Dockerfile line. RUN steps are scripted processes.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../engine.ts';
import { MemoryBackend } from '../store/backend.ts';
import { MemoryGuest, type ProcessHandler } from '../testing/memory-guest.ts';
import { readTar } from '../archive/tar.ts';
import { parseDockerfile, type ContextEntry } from '../dockerfile/index.ts';
import type { BuildEvent } from './events.ts';

function file(path: string, text: string, mode = 0o100644): ContextEntry {
  return { path, mode, data: new TextEncoder().encode(text), mtime: 1_700_000_000 };
}

/** A root filesystem to build FROM: /etc/passwd with an `app` user, and a shell's path. */
const ROOTFS = [file('rootfs/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'), file('rootfs/etc/group', 'root:x:0:\napp:x:1000:\n'), file('rootfs/bin/sh', '#!', 0o100755)];

async function openEngine(processes?: ProcessHandler) {
  const guest = new MemoryGuest({ processes });
  const backend = new MemoryBackend();
  const engine = await Engine.open({ backend, guest });
  await engine.build({ dockerfile: 'FROM scratch\nCOPY rootfs/ /\n', context: ROOTFS, tags: ['base:1'] });
  return { guest, backend, engine };
}

async function build(engine: Engine, dockerfile: string, context: ContextEntry[] = [], tag = 'app:1') {
  const events: BuildEvent[] = [];
  const result = await engine.build({ dockerfile, context, tags: [tag], onEvent: (e) => events.push(e) });
  const done = events.filter((e) => e.type === 'step-done');
  return { ...result, events, done };
}

async function layerNames(engine: Engine, ref: string, index: number): Promise<string[]> {
  const tar = await engine.save({ refs: [ref], format: 'docker' });
  const items = await readTar(tar);
  const manifest = JSON.parse(new TextDecoder().decode(items.find((i) => i.name === 'manifest.json')!.data)) as { Layers: string[] }[];
  const layer = items.find((i) => i.name === manifest[0].Layers[index])!;
  return (await readTar(layer.data!)).map((i) => i.name);
}

describe('builder (in-memory guest)', () => {
  it('turns COPY and RUN into layers and ENV, WORKDIR, USER, CMD into config, with a history line each', async () => {
    const { engine, guest } = await openEngine(({ kind, argv }) =>
      kind === 'run' && argv.join(' ') === '/bin/sh -c echo built > /app/out.txt' ? { stdout: 'building\n', writes: { '/app/out.txt': 'built\n' } } : undefined,
    );
    const { imageId, events } = await build(
      engine,
      ['FROM base:1', 'ENV GREETING=hello', 'WORKDIR /app', 'COPY app.py .', 'RUN echo built > /app/out.txt', 'USER app', 'CMD ["python", "app.py"]'].join('\n'),
      [file('app.py', 'print("hi")\n')],
    );

    const inspect = await engine.inspectImage({ ref: 'app:1' });
    expect(inspect.Id).toBe(imageId);
    expect(inspect.Config).toMatchObject({ Env: expect.arrayContaining(['GREETING=hello']), WorkingDir: '/app', User: 'app', Cmd: ['python', 'app.py'] });
    // base's one layer, then WORKDIR's (it made /app), COPY's and RUN's.
    expect(inspect.RootFS.Layers).toHaveLength(4);
    expect(await layerNames(engine, 'app:1', 2)).toEqual(['app/', 'app/app.py']);
    expect(await layerNames(engine, 'app:1', 3)).toEqual(['app/', 'app/out.txt']);
    const { history } = await engine.history({ ref: 'app:1' });
    expect(history.map((h) => [h.created_by, !!h.empty_layer])).toEqual([
      ['COPY rootfs/ / # buildkit', false],
      ['ENV GREETING=hello', true],
      ['WORKDIR /app', false],
      ['COPY app.py . # buildkit', false],
      ['RUN /bin/sh -c echo built > /app/out.txt # buildkit', false],
      ['USER app', true],
      ['CMD ["python" "app.py"]', true],
    ]);
    // The RUN ran with the ENV and as root (USER comes after it), its output streamed as step output.
    const run = guest.requests.find((r) => r.op === 'run')!.params as { config: { process: { env: string[]; user: { uid: number } } } };
    expect(run.config.process.env).toContain('GREETING=hello');
    expect(run.config.process.user.uid).toBe(0);
    expect(events.filter((e) => e.type === 'step-output').map((e) => e.type === 'step-output' && e.text)).toEqual(['building\n']);
  });

  it('reuses cached steps until an input changes, and says why it could not', async () => {
    const { engine } = await openEngine();
    const dockerfile = 'FROM base:1\nCOPY a.txt /a.txt\nRUN true\nCOPY b.txt /b.txt\n';
    const first = await build(engine, dockerfile, [file('a.txt', 'a'), file('b.txt', 'b')]);
    expect(first.done.map((e) => e.type === 'step-done' && e.cached)).toEqual([false, false, false]);

    const again = await build(engine, dockerfile, [file('a.txt', 'a'), file('b.txt', 'b')]);
    expect(again.imageId).toBe(first.imageId);
    expect(again.done.map((e) => e.type === 'step-done' && e.cached)).toEqual([true, true, true]);

    const changed = await build(engine, dockerfile, [file('a.txt', 'a'), file('b.txt', 'B')]);
    expect(changed.imageId).not.toBe(first.imageId);
    const steps = changed.done.flatMap((e) => (e.type === 'step-done' ? [[e.cached, e.missReasons.join('; ')] as const] : []));
    expect(steps.slice(0, 2).map(([cached]) => cached)).toEqual([true, true]);
    expect(steps[2][0]).toBe(false);
    expect(steps[2][1]).toContain('b.txt');
  });

  it('fails a RUN that exits non-zero with its exit code and line; no image is tagged', async () => {
    const { engine } = await openEngine(({ argv }) => (argv.includes('exit 3') ? { exit: 3, stderr: 'oops\n' } : undefined));
    const error = await build(engine, 'FROM base:1\nENV A=1\nRUN exit 3\n').catch((e: Error & { line?: number }) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    expect((error as { line?: number }).line).toBe(3);
    await expect(engine.inspectImage({ ref: 'app:1' })).rejects.toThrow(/No such image|not found/i);
  });

  it('points at the line of a Dockerfile error and of a COPY source that is not in the context', async () => {
    const { engine } = await openEngine();
    const unknown = await build(engine, 'FROM base:1\nFROBNICATE x\n').catch((e: Error & { line?: number }) => e);
    expect((unknown as { line?: number }).line).toBe(2);
    expect((unknown as Error).message).toMatch(/unknown instruction/i);
    const missing = await build(engine, 'FROM base:1\nWORKDIR /x\nCOPY nothere.txt .\n').catch((e: Error & { line?: number }) => e);
    expect((missing as { line?: number }).line).toBe(3);
    expect((missing as Error).message).toContain('nothere.txt');
  });

  it("uses the caller's parse of the Dockerfile, and gives each step its stage's FROM as written", async () => {
    const { engine } = await openEngine();
    const dockerfile = 'FROM base:1 AS first\nCOPY a.txt /a.txt\n\nFROM --platform=linux/386 base:1\nCOPY --from=first /a.txt /b.txt\n';
    const parsed = parseDockerfile({ text: dockerfile });
    const events: BuildEvent[] = [];
    await engine.build({ dockerfile, parsed, context: [file('a.txt', 'a')], tags: ['staged:1'], onEvent: (e) => events.push(e) });
    const start = events.find((e) => e.type === 'start');
    expect(start?.type === 'start' && start.steps.map((s) => [s.line, s.from])).toEqual([
      [2, { line: 1, image: 'base:1' }],
      [5, { line: 4, image: 'base:1' }],
    ]);
    // The parse given is the one built from (its instructions, not a second reading of the text).
    parsed.instructions.splice(1, 1);
    const again: BuildEvent[] = [];
    await engine.build({ dockerfile, parsed, context: [file('a.txt', 'a')], tags: ['staged:2'], onEvent: (e) => again.push(e) }).catch(() => {});
    const second = again.find((e) => e.type === 'start');
    expect(second?.type === 'start' && second.steps.map((s) => s.line)).not.toContain(2);
  });
});
