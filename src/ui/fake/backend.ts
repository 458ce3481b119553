/**
 * A pretend engine for development and UI tests, until the real one is wired in. It builds from the
 * real workspace text with a tiny Dockerfile reader (no VM: RUN steps are guessed from a few shell
 * verbs), keeps a build cache keyed on the parent chain + instruction + copied content, and plays
 * containers with writable layers. Nothing here is shipped as the product's behaviour.
 */
import type { PortHttpRequest, PortHttpResponse } from '../../engine/api.ts';
import { INSTRUCTION_KEYWORDS, type BuildEvent, type BuildStepInfo } from '../../engine/index.ts';
import type { Backend, BuildRequest, BuildOutcome, EngineView } from '../backend.ts';
import { BootError } from '../boot/boot.ts';
import type { LintMarker } from '../editor/types.ts';
import { baseLayer, fakeDigest, fixtureImages, fixtureWritableLayers } from '../layers/fixtures.ts';
import type { ImageVM, LayerVM, WritableLayerVM } from '../layers/model.ts';
import { countChanges, flatten, normalize, toTree, treeSize, type FlatEntry } from '../layers/tree.ts';
import { entryType } from '../layers/from-engine.ts';
import { analyzedLayers, imageFiles, visibleFiles } from './layer-model.ts';
import { BuildLog } from '../panels/build-log.ts';
import type { Actions, ContainerRowVM, ImageRowVM } from '../panels/types.ts';
import type { TerminalBridge } from '../terminal/port.ts';
import { fileSize, type WorkspaceFile } from '../workspace/files.ts';

export interface FakeOptions {
  /** Milliseconds per boot step (default 350). */
  bootStepMs?: number;
  /** Make boot fail like a missing asset. */
  failBoot?: boolean;
  /** Milliseconds per rebuilt step (default 250). */
  stepMs?: number;
  /** Start with the fixture images and containers (default true). */
  fixtures?: boolean;
  /** getImage answers after this many milliseconds, and the first answer is "not found" (a VM still starting). */
  slowImages?: number;
  /** Offer the lesson column (its checks are not evaluated here: they need the real engine). */
  lessons?: boolean;
}

const KNOWN = new Set<string>(INSTRUCTION_KEYWORDS);

interface Instr {
  line: number;
  keyword: string;
  args: string;
  text: string;
}

/** Instructions with their first line; continuation lines joined. */
export function readDockerfile(text: string): Instr[] {
  const out: Instr[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let s = lines[i].trim();
    if (!s || s.startsWith('#')) continue;
    while (s.endsWith('\\') && i + 1 < lines.length) s = s.slice(0, -1).trimEnd() + ' ' + lines[++i].trim();
    const m = /^(\S+)\s*(.*)$/.exec(s)!;
    out.push({ line: start + 1, keyword: m[1].toUpperCase(), args: m[2], text: `${m[1].toUpperCase()} ${m[2]}`.trim() });
  }
  return out;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('Build cancelled', 'AbortError'));
    });
  });

function ignoreMatcher(files: WorkspaceFile[]): (path: string) => boolean {
  const raw = files.find((f) => f.path === '.dockerignore');
  const patterns = typeof raw?.content === 'string' ? raw.content.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];
  const res = patterns.map((p) => new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.').replace(/\/$/, '(/.*)?') + '(/.*)?$'));
  return (path) => res.some((r) => r.test(path));
}

export function createFakeBackend(options: FakeOptions = {}): Backend {
  const stepMs = options.stepMs ?? 250;
  const images = new Map<string, ImageVM & { created: string }>();
  const tags = new Map<string, string>(); // tag → image id
  const containers = new Map<string, ContainerRowVM & { entries: WritableLayerVM['entries'] }>();
  const cache = new Map<string, LayerVM>();
  let lastKeys: { line: number; key: string; text: string; copyKey?: string }[] = [];
  const listeners = new Set<(v: EngineView) => void>();
  const answeredImage = new Set<string>();
  const checkpoints = new Map<string, { images: Map<string, ImageVM & { created: string }>; tags: Map<string, string>; containers: typeof containers }>();

  if (options.fixtures !== false) {
    for (const img of fixtureImages) {
      images.set(img.id, { ...img, created: new Date(Date.now() - 3600_000).toISOString() });
      for (const t of img.tags) tags.set(t, img.id);
    }
    for (const w of fixtureWritableLayers) {
      addContainer(w.containerName, w.image, w.state, w.entries);
    }
    // One fixture web server, so the Ports panel and its preview have something to show.
    const server = [...containers.values()].find((c) => c.state === 'running');
    if (server) server.ports = [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 8000 }];
  }

  function addContainer(name: string, imageId: string, state: ContainerRowVM['state'], entries: WritableLayerVM['entries'] = []) {
    const img = images.get(imageId);
    const imgSize = img ? img.layers.reduce((s, l) => s + l.size, 0) : 0;
    containers.set(name, {
      id: fakeDigest('c' + name + Date.now()).slice(7, 19),
      name,
      image: img?.tags[0] ?? imageId.slice(7, 19),
      imageId,
      command: '"./hello.sh"',
      state,
      status: state === 'running' ? 'Up 2 seconds' : state === 'created' ? 'Created' : 'Exited (0) 1 second ago',
      startedAt: state === 'created' ? null : new Date(Date.now() - 2000).toISOString(),
      finishedAt: state === 'exited' ? new Date(Date.now() - 1000).toISOString() : null,
      exitCode: state === 'exited' ? 0 : undefined,
      size: entries.reduce((s, e) => s + e.size, 0),
      virtualSize: imgSize,
      entries,
    });
  }

  function view(): EngineView {
    const imageRows: ImageRowVM[] = [...images.values()].map((i) => ({
      id: i.id,
      tags: [...tags].filter(([, id]) => id === i.id).map(([t]) => t),
      size: i.layers.reduce((s, l) => s + l.size, 0),
      created: i.created,
      layerCount: i.layers.filter((l) => !l.emptyLayer).length,
    }));
    const rows = [...containers.values()].map(({ entries, ...c }) => {
      const size = entries.reduce((s, e) => s + e.size, 0);
      const imgSize = imageRows.find((i) => i.id === c.imageId)?.size ?? 0;
      return { ...c, size, virtualSize: imgSize + size };
    });
    const writable = [...containers.values()].map((c) => ({ containerName: c.name, containerId: c.id, image: c.imageId, state: c.state, entries: c.entries }));
    return { images: imageRows, containers: rows, writable };
  }
  const emit = () => {
    const v = view();
    for (const l of listeners) l(v);
  };

  function runLayer(instr: Instr, workdir: string, below: LayerVM[]): FlatEntry[] {
    const visible = visibleFiles(below);
    const out: FlatEntry[] = [];
    const abs = (p: string) => normalize(p.startsWith('/') ? p : `${workdir}/${p}`);
    const body = instr.args.replace(/^\[.*\]$/, '');
    for (const seg of body.split(/&&|;/).map((s) => s.trim())) {
      const words = seg.split(/\s+/);
      const redirect = /(?:^|\s)>{1,2}\s*(\S+)\s*$/.exec(seg);
      if (redirect) {
        const p = abs(redirect[1]);
        out.push({ path: p, type: 'file', size: Math.max(1, seg.length - redirect[0].length - 5), mark: visible.has(p) ? 'M' : 'A' });
      } else if (words[0] === 'mkdir') {
        for (const w of words.slice(1).filter((w) => !w.startsWith('-'))) out.push({ path: abs(w), type: 'dir', size: 0, mark: 'A' });
      } else if (words[0] === 'touch') {
        for (const w of words.slice(1)) out.push({ path: abs(w), type: 'file', size: 0, mark: visible.has(abs(w)) ? 'M' : 'A' });
      } else if (words[0] === 'rm') {
        for (const w of words.slice(1).filter((w) => !w.startsWith('-'))) if (visible.has(abs(w))) out.push({ path: abs(w), type: 'file', size: 0, mark: 'D' });
      } else if (words[0] === 'chmod' || words[0] === 'chown') {
        for (const w of words.slice(2)) {
          const v = visible.get(abs(w));
          if (v) out.push({ path: abs(w), type: entryType(v.type), size: v.size, mark: 'M' });
        }
      } else if (words[0] === 'wget' || words[0] === 'dd') {
        const o = /(?:-O|of=)\s*(\S+)/.exec(seg);
        if (o) out.push({ path: abs(o[1]), type: 'file', size: 2_400_000, mark: 'A' });
      }
    }
    return out;
  }

  function lintsFor(instrs: Instr[], layers: LayerVM[]): LintMarker[] {
    const lints: LintMarker[] = [];
    for (let i = 1; i < instrs.length; i++) {
      if (instrs[i].keyword === 'RUN' && instrs[i - 1].keyword === 'RUN') {
        lints.push({ line: instrs[i].line, severity: 'info', source: 'layerlab', message: 'Two RUN steps in a row make two layers. If they belong together, join them with && into one RUN.' });
      }
    }
    const copyAll = instrs.find((x) => x.keyword === 'COPY' && /^\.\s+\S+$/.test(x.args));
    if (copyAll && instrs.some((x) => x.keyword === 'RUN' && x.line > copyAll.line)) {
      lints.push({ line: copyAll.line, severity: 'info', source: 'layerlab', message: '`COPY . .` before a RUN: any change to any file rebuilds every step after this one. Copy only what the RUN needs first.' });
    }
    for (const layer of layers) {
      for (const e of flatten(layer.tree)) {
        if (e.mark !== 'D') continue;
        const origin = layers.find((l) => l.index < layer.index && flatten(l.tree).some((x) => x.path === e.path && x.mark !== 'D'));
        if (origin) {
          lints.push({ line: layer.line, severity: 'warning', source: 'layerlab', message: `Deleting ${e.path} here does not shrink the image: its bytes stay in the layer from line ${origin.line}. Delete it in the same RUN that created it.` });
        }
      }
    }
    return lints;
  }

  /** Instructions that change only the image config: every one but FROM and those that make a layer. */
  const CONFIG_ONLY = new Set<string>(INSTRUCTION_KEYWORDS.filter((keyword) => !['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR'].includes(keyword)));

  /** The build's steps as the engine describes them: every instruction but FROM, counted per stage. */
  function stepInfos(instrs: Instr[]): Map<Instr, BuildStepInfo> {
    const stages: Instr[][] = [];
    const froms: (BuildStepInfo['from'] | undefined)[] = [];
    for (const ins of instrs) {
      if (ins.keyword === 'FROM' || stages.length === 0) {
        stages.push([]);
        froms.push(ins.keyword === 'FROM' ? { line: ins.line, image: ins.args.replace(/^--platform=\S+\s+/i, '').split(/\s+/)[0] } : undefined);
      }
      if (ins.keyword !== 'FROM') stages.at(-1)!.push(ins);
    }
    const infos = new Map<Instr, BuildStepInfo>();
    const total = stages.reduce((n, stage) => n + stage.length, 0);
    for (const [index, stage] of stages.entries()) {
      const name = stages.length > 1 ? String(index) : '';
      const from = froms[index];
      for (const [i, ins] of stage.entries()) {
        infos.set(ins, { n: infos.size + 1, total, stage: name, stageStep: i + 2, stageSteps: stage.length + 1, line: ins.line, endLine: ins.line, instruction: ins.text, configOnly: CONFIG_ONLY.has(ins.keyword), ...(from ? { from } : {}) });
      }
    }
    return infos;
  }

  /** Plays the build as the engine's BuildEvents; the shared reducer (BuildLog) makes the log and decorations. */
  async function build(req: BuildRequest): Promise<BuildOutcome> {
    const df = req.files.find((f) => f.path === req.dockerfile);
    const text = typeof df?.content === 'string' ? df.content : '';
    const instrs = readDockerfile(text);
    const started = performance.now();
    const log = new BuildLog();
    const emitEvent = (event: BuildEvent) => {
      log.apply(event);
      req.onLog(log.snapshot());
    };
    const fail = (line: number, message: string, step?: BuildStepInfo): BuildOutcome => {
      if (step) emitEvent({ type: 'step-error', step, message });
      emitEvent({ type: 'error', message, ...(line ? { line } : {}) });
      return { ok: false, decorations: log.decorations(), lints: line ? [{ line, severity: 'error', message, source: 'build' }] : [], error: message };
    };
    req.onLog(log.snapshot());
    if (instrs.length === 0) return fail(0, 'the Dockerfile cannot be empty');
    if (instrs[0].keyword !== 'FROM' && instrs[0].keyword !== 'ARG') return fail(instrs[0].line, 'no build stage in current context: the first instruction must be FROM');
    const unknown = instrs.find((ins) => !KNOWN.has(ins.keyword));
    if (unknown) return fail(unknown.line, `dockerfile parse error on line ${unknown.line}: unknown instruction: ${unknown.keyword}`);
    const infos = stepInfos(instrs);
    emitEvent({ type: 'start', steps: [...infos.values()], warnings: [] });

    const ignored = ignoreMatcher(req.files);
    const context = req.files.filter((f) => !ignored(f.path) && f.path !== '.dockerignore');
    const layers: LayerVM[] = [];
    const keys: typeof lastKeys = [];
    let parentKey = '';
    let workdir = '/';
    let busted: string | null = null;
    let cachedSteps = 0;

    for (let i = 0; i < instrs.length; i++) {
      const ins = instrs[i];
      const step = infos.get(ins);
      if (step) emitEvent({ type: 'step-start', step });
      const stepStarted = performance.now();
      let copyKey: string | undefined;
      let tree: FlatEntry[] = [];
      if (ins.keyword === 'FROM') {
        const ref = ins.args.split(/\s+/)[0];
        if (!/^busybox(:latest)?$/.test(ref) && !tags.has(ref.includes(':') ? ref : `${ref}:latest`)) {
          await sleep(stepMs, req.signal);
          return fail(ins.line, `${ref}: not found. Bundled base images: busybox (and images you built).`);
        }
      } else if (ins.keyword === 'WORKDIR') {
        workdir = normalize(ins.args.startsWith('/') ? ins.args : `${workdir}/${ins.args}`);
        if (!visibleFiles(layers).has(workdir)) tree = [{ path: workdir, type: 'dir', size: 0, mark: 'A' }];
      } else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') {
        const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        const dest = parts.pop() ?? '.';
        const destAbs = normalize(dest.startsWith('/') ? dest : `${workdir}/${dest}`);
        const picked: WorkspaceFile[] = [];
        for (const src of parts) {
          const s = src.replace(/^\.\/?/, '');
          const matched = context.filter((f) => s === '' || f.path === s || f.path.startsWith(s + '/'));
          if (matched.length === 0) return fail(ins.line, `failed to compute cache key: "/${s}": not found`, step);
          picked.push(...matched);
        }
        const toDir = dest.endsWith('/') || dest === '.' || picked.length > 1 || parts.some((p) => p === '.');
        const below = visibleFiles(layers);
        tree = picked.map((f) => {
          const p = toDir ? `${destAbs}/${f.path}` : destAbs;
          return { path: p, type: 'file' as const, size: fileSize(f), mark: below.has(p) ? ('M' as const) : ('A' as const) };
        });
        copyKey = picked.map((f) => `${f.path}:${fakeDigest(typeof f.content === 'string' ? f.content : String(f.content.length))}`).join(',');
      } else if (ins.keyword === 'RUN') {
        tree = runLayer(ins, workdir, layers);
      }
      const key = fakeDigest(parentKey + '\n' + ins.text + '\n' + (copyKey ?? ''));
      parentKey = key;
      const cachedLayer = cache.get(key);
      const prev = lastKeys[i];
      let why: string | undefined;
      if (!cachedLayer && ins.keyword !== 'FROM') {
        if (busted) why = busted;
        else if (prev && prev.text !== ins.text) why = `Rebuilt: this line changed since the last build.`;
        else if (prev && prev.copyKey !== copyKey && copyKey) {
          const before = new Set(prev.copyKey?.split(','));
          const changed = copyKey.split(',').filter((c) => !before.has(c)).map((c) => c.split(':')[0]);
          why = `Rebuilt: copied file${changed.length > 1 ? 's' : ''} changed: \`${changed.join('`, `')}\`.`;
        } else why = 'Rebuilt: not in the build cache yet.';
        busted ??= `Rebuilt: an earlier step was rebuilt (line ${ins.line}), and the cache key includes every step before.`;
      }
      if (ins.keyword === 'FROM') {
        layers.push({ ...baseLayer(), line: ins.line, instruction: ins.text });
      } else {
        const t = toTree(tree);
        const layer: LayerVM = cachedLayer
          ? { ...cachedLayer, index: layers.length, line: ins.line, cached: true }
          : {
              index: layers.length,
              digest: tree.length ? fakeDigest(key + 'layer') : '',
              instruction: ins.text,
              line: ins.line,
              size: treeSize(t),
              changedFiles: countChanges(t),
              emptyLayer: tree.length === 0 && ins.keyword !== 'RUN',
              tree: t,
              cached: false,
              hidden: [],
            };
        if (!cachedLayer) {
          await sleep(ins.keyword === 'RUN' ? stepMs * 2 : stepMs / 2, req.signal);
          if (ins.keyword === 'RUN' && step) emitEvent({ type: 'step-output', step, stream: 'stdout', text: `(fake) ran: ${ins.args}\n`, elapsedMs: performance.now() - stepStarted });
        } else await sleep(15, req.signal);
        cache.set(key, layer);
        layers.push(layer);
        if (cachedLayer) cachedSteps++;
        if (step) {
          emitEvent({
            type: 'step-done',
            // A WORKDIR of an existing directory changes only the config, as the engine reports it.
            step: { ...step, configOnly: layer.emptyLayer },
            cached: !!cachedLayer,
            ms: performance.now() - stepStarted,
            ...(layer.emptyLayer ? {} : { layer: { diffID: layer.digest, size: layer.size, files: layer.changedFiles } }),
            missReasons: why ? [why] : [],
          });
        }
      }
      keys.push({ line: ins.line, key, text: ins.text, copyKey });
    }
    lastKeys = keys;
    const id = fakeDigest('image' + parentKey);
    const tag = req.tag.includes(':') ? req.tag : `${req.tag}:latest`;
    images.set(id, { id, tags: [tag], layers, created: new Date().toISOString() });
    const old = tags.get(tag);
    tags.set(tag, id);
    if (old && old !== id) {
      const o = images.get(old);
      if (o) o.tags = o.tags.filter((t) => t !== tag);
    }
    emitEvent({ type: 'done', imageId: id, tags: [tag], ms: performance.now() - started, cachedSteps, totalSteps: infos.size });
    emit();
    return { ok: true, imageId: id, decorations: log.decorations(), lints: lintsFor(instrs, layers) };
  }

  function container(name: string) {
    const row = containers.get(name);
    if (!row) throw new Error(`No such container: ${name}`);
    return row;
  }

  /** `docker pause` (frozen) and `docker unpause`. */
  function setFrozen(name: string, frozen: boolean): void {
    const row = container(name);
    if (row.state !== (frozen ? 'running' : 'paused')) throw new Error(`Container ${row.id} is not ${frozen ? 'running' : 'paused'}`);
    row.state = frozen ? 'paused' : 'running';
    emit();
  }

  const actions: Actions = {
    async run(image, opts = {}) {
      const id = tags.get(image.includes(':') ? image : `${image}:latest`) ?? (images.has(image) ? image : null);
      if (!id) throw new Error(`Unable to find image '${image}' locally`);
      let name = opts.name;
      if (!name) {
        const words = ['brave', 'calm', 'eager', 'kind', 'quiet', 'swift'];
        const nouns = ['turing', 'hopper', 'lovelace', 'ritchie', 'torvalds', 'liskov'];
        do name = `${words[Math.floor(Math.random() * 6)]}_${nouns[Math.floor(Math.random() * 6)]}`;
        while (containers.has(name));
      }
      if (containers.has(name)) throw new Error(`Conflict. The container name "/${name}" is already in use.`);
      addContainer(name, id, 'running');
      emit();
    },
    async start(c) {
      const row = container(c);
      row.state = 'running';
      row.status = 'Up 1 second';
      row.startedAt = new Date().toISOString();
      row.finishedAt = null;
      emit();
    },
    async pause(c) {
      setFrozen(c, true);
    },
    async unpause(c) {
      setFrozen(c, false);
    },
    async stop(c) {
      const row = container(c);
      row.state = 'exited';
      row.status = 'Exited (137) 1 second ago';
      row.exitCode = 137;
      row.finishedAt = new Date().toISOString();
      emit();
    },
    async rm(c, opts = {}) {
      const row = container(c);
      if (row.state === 'running' && !opts.force) throw new Error(`You cannot remove a running container ${row.id}. Stop the container before attempting removal or force remove`);
      containers.delete(c);
      emit();
    },
    async commit(c, opts = {}) {
      const row = container(c);
      const base = images.get(row.imageId);
      if (!base) throw new Error('image gone');
      const t = toTree(row.entries.map((e) => ({ path: e.path, type: 'file', size: e.size, mark: e.kind === 'C' ? 'M' : e.kind })));
      const layer: LayerVM = { index: base.layers.length, digest: fakeDigest(c + Date.now()), instruction: `(docker commit ${c})`, line: 0, size: treeSize(t), changedFiles: countChanges(t), emptyLayer: false, tree: t, hidden: [] };
      const id = fakeDigest('commit' + c + Date.now());
      const tag = opts.tag ?? `${c}-snapshot:latest`;
      images.set(id, { id, tags: [tag], layers: [...base.layers, layer], created: new Date().toISOString() });
      tags.set(tag, id);
      emit();
    },
    async rmi(image) {
      const id = tags.get(image) ?? image;
      if ([...containers.values()].some((c) => c.imageId === id)) throw new Error(`conflict: unable to remove image ${image} (must force) - image is being used by a container`);
      images.delete(id);
      for (const [t, i] of tags) if (i === id) tags.delete(t);
      emit();
    },
    // A docker-archive shaped like the real one (manifest.json, config, one tar per layer), with
    // empty layer tars: enough for the UI's export/import round trip.
    async save(image) {
      const id = tags.get(image) ?? (images.has(image) ? image : undefined);
      const img = id ? images.get(id) : undefined;
      if (!id || !img) throw new Error(`reference does not exist: ${image}`);
      await sleep(stepMs);
      const { writeTar } = await import('../../engine/index.ts');
      const enc = new TextEncoder();
      const fsLayers = img.layers.filter((l) => !l.emptyLayer);
      const layerTar = await writeTar([]);
      const config = enc.encode(JSON.stringify({ architecture: '386', os: 'linux', rootfs: { type: 'layers', diff_ids: fsLayers.map((l) => l.digest) }, history: img.layers.map((l) => ({ created_by: l.instruction, empty_layer: l.emptyLayer || undefined })) }));
      const repoTags = [...tags].filter(([, i]) => i === id).map(([t]) => t);
      const manifest = enc.encode(JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: repoTags, Layers: fsLayers.map((l) => `${l.digest.slice(7)}/layer.tar`) }]));
      return writeTar([
        { name: `${id.slice(7)}.json`, data: config },
        ...fsLayers.map((l) => ({ name: `${l.digest.slice(7)}/layer.tar`, data: layerTar })),
        { name: 'manifest.json', data: manifest },
      ]);
    },
    async load(data) {
      const { readTar } = await import('../../engine/index.ts');
      const entries = await readTar(data).catch(() => {
        throw new Error('this file is not a tar archive');
      });
      const manifest = entries.find((e) => e.name === 'manifest.json');
      if (!manifest?.data) throw new Error('no manifest.json: not a docker-archive tar (docker save makes one)');
      const list = JSON.parse(new TextDecoder().decode(manifest.data)) as { Config: string; RepoTags?: string[] }[];
      const loaded: { id: string; tags: string[] }[] = [];
      for (const entry of list) {
        const id = `sha256:${entry.Config.replace(/\.json$/, '').padEnd(64, '0')}`;
        if (!images.has(id)) images.set(id, { ...fixtureImages[0]!, id, tags: entry.RepoTags ?? [], created: new Date().toISOString() });
        for (const t of entry.RepoTags ?? []) tags.set(t, id);
        loaded.push({ id, tags: entry.RepoTags ?? [] });
      }
      emit();
      return { images: loaded, warnings: [] };
    },
  };

  return {
    async boot({ onProgress, signal }) {
      const ms = options.bootStepMs ?? 350;
      const total = 12.4;
      for (let mb = 0; mb <= total; mb += 3.1) {
        onProgress({ step: `Downloading VM (${mb.toFixed(1)} / ${total} MB)`, value: (mb / total) * 0.7 });
        await sleep(ms / 2, signal);
      }
      if (options.failBoot) throw new BootError('asset-failed', 'The VM snapshot could not be downloaded.', '/vm/state.bin.zst (HTTP 404)');
      onProgress({ step: 'Restoring snapshot', value: 0.8 });
      await sleep(ms, signal);
      onProgress({ step: 'Starting shell', value: 0.95 });
      await sleep(ms / 2, signal);
    },
    connectTerminal(port: TerminalBridge) {
      let line = '';
      const prompt = () => port.write('\x1b[1;32m/workspace #\x1b[0m ');
      port.write('\x1b[2mLayerlab dev shell: a stand-in until the VM is wired in. Try `touch /tmp/x` with a container running.\x1b[0m\r\n');
      prompt();
      return port.onData((data) => {
        for (const ch of data) {
          if (ch === '\r') {
            port.write('\r\n');
            const cmd = line.trim();
            line = '';
            const words = cmd.split(/\s+/);
            const running = [...containers.values()].filter((c) => c.state === 'running').pop();
            if (words[0] === 'touch' && words[1]) {
              if (!running) port.write('no running container to write into (start one in the Containers tab)\r\n');
              else {
                running.entries = [...running.entries.filter((e) => e.path !== words[1]), { path: normalize(words[1]), kind: 'A', size: 0 }];
                emit();
              }
            } else if (words[0] === 'echo') port.write(words.slice(1).join(' ') + '\r\n');
            else if (cmd) port.write(`${words[0]}: not available in the dev shell\r\n`);
            prompt();
          } else if (ch === '\x7f') {
            if (line) {
              line = line.slice(0, -1);
              port.write('\b \b');
            }
          } else if (ch >= ' ') {
            line += ch;
            port.write(ch);
          }
        }
      });
    },
    build,
    async fetchPort(request: PortHttpRequest): Promise<PortHttpResponse> {
      const server = [...containers.values()].find((c) => c.state === 'running' && c.ports?.some((p) => p.hostPort === request.port));
      if (!server) throw new Error(`no running container publishing port ${request.port} (see 'docker ps')`);
      const html = `<!doctype html><title>${server.name}</title><h1>Hello from ${server.name}</h1><p>${request.method} ${request.path}</p>`;
      return { status: 200, statusText: 'OK', headers: [['Content-Type', 'text/html; charset=utf-8']], body: new TextEncoder().encode(html) };
    },

    async getImage(id) {
      if (options.slowImages) {
        await sleep(options.slowImages);
        if (!answeredImage.has(id)) {
          answeredImage.add(id);
          return null;
        }
      }
      const img = images.get(id);
      return img ? { id: img.id, tags: [...tags].filter(([, i]) => i === id).map(([t]) => t), layers: analyzedLayers(img.layers) } : null;
    },
    async getImageFiles({ image, layer }) {
      return imageFiles(image, layer);
    },
    subscribe(listener) {
      listeners.add(listener);
      listener(view());
      return () => listeners.delete(listener);
    },
    actions,
    lessons: options.lessons
      ? {
          // The fixtures have no real files to check: every check reports that, so the player's states show.
          async evaluate(step) {
            const checks = step.checks.map(() => ({ pass: false, message: 'Checks need the real engine (the fixtures backend only shows them).' }));
            return { complete: false, checks, hints: [] };
          },
          async reset() {
            containers.clear();
            for (const tag of [...tags.keys()]) if (!tag.startsWith('busybox:')) tags.delete(tag);
            for (const id of images.keys()) if (![...tags.values()].includes(id)) images.delete(id);
            emit();
          },
          async checkpoint(key) {
            checkpoints.set(key, { images: new Map(images), tags: new Map(tags), containers: new Map(containers) });
          },
          async rewind(key) {
            const saved = checkpoints.get(key);
            if (!saved) throw new Error('this step has no checkpoint to go back to');
            for (const [live, kept] of [[images, saved.images], [tags, saved.tags], [containers, saved.containers]] as [Map<string, unknown>, Map<string, unknown>][]) {
              live.clear();
              for (const [k, v] of kept) live.set(k, v);
            }
            emit();
          },
        }
      : undefined,
  };
}
