/**
 * Fixture data for the layer view until the engine is wired in (and for the UI tests afterwards).
 * The `app` image matches the default workspace; `wasteful` shows whiteouts and wasted bytes.
 */
import type { FileNodeVM, ImageVM, LayerVM, MergedNodeVM, WritableLayerVM } from './model.ts';
import { countChanges, toTree, treeSize, walk, type FlatEntry } from './tree.ts';

const f = (path: string, size: number, mark: FileNodeVM['mark'] = 'A'): FlatEntry => ({ path, type: 'file', size, mark });
const d = (path: string, mark?: FileNodeVM['mark']): FlatEntry => ({ path, type: 'dir', size: 0, mark });
const l = (path: string, target: string): FlatEntry => ({ path, type: 'symlink', size: target.length, mark: 'A', linkTarget: target });

const BUSYBOX_APPLETS = ['sh', 'ls', 'cat', 'echo', 'mkdir', 'rm', 'cp', 'mv', 'chmod', 'wget', 'vi', 'ps', 'top', 'du', 'find', 'grep', 'sed'];

export function busyboxBaseTree(): FileNodeVM[] {
  return toTree([
    d('/bin', 'A'),
    f('/bin/busybox', 1_118_096),
    ...BUSYBOX_APPLETS.map((a) => l(`/bin/${a}`, 'busybox')),
    d('/etc', 'A'),
    f('/etc/passwd', 340),
    f('/etc/group', 276),
    f('/etc/hostname', 0),
    f('/etc/os-release', 120),
    d('/dev', 'A'),
    d('/proc', 'A'),
    d('/sys', 'A'),
    d('/tmp', 'A'),
    d('/root', 'A'),
    d('/home', 'A'),
    d('/var', 'A'),
    d('/var/spool', 'A'),
    d('/usr', 'A'),
    d('/usr/sbin', 'A'),
  ]);
}

function layer(index: number, instruction: string, line: number, tree: FileNodeVM[], extra: Partial<LayerVM> = {}): LayerVM {
  const empty = tree.length === 0 && extra.emptyLayer !== false;
  return {
    index,
    digest: empty ? '' : fakeDigest(instruction + index),
    instruction,
    line,
    size: treeSize(tree),
    changedFiles: countChanges(tree),
    emptyLayer: empty,
    tree,
    // What the layer hides below it is the engine's to say (the fake backend asks it).
    hidden: [],
    ...extra,
  };
}

/** Deterministic, digest-shaped string (not a real hash: fixtures only). */
export function fakeDigest(seed: string): string {
  let h1 = 0x811c9dc5;
  let out = '';
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < seed.length; i++) h1 = Math.imul(h1 ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    h1 = Math.imul(h1 ^ round, 0x01000193) >>> 0;
    out += h1.toString(16).padStart(8, '0');
  }
  return 'sha256:' + out;
}

export function baseLayer(): LayerVM {
  return layer(0, 'FROM busybox', 1, busyboxBaseTree(), { base: true, cached: true });
}

export const appImage: ImageVM = {
  id: fakeDigest('app-image'),
  tags: ['app:latest'],
  layers: [
    baseLayer(),
    layer(1, 'WORKDIR /app', 2, toTree([d('/app', 'A')]), { emptyLayer: false, cached: true }),
    layer(2, 'COPY hello.sh .', 3, toTree([d('/app'), f('/app/hello.sh', 112)]), { cached: true }),
    layer(3, 'RUN chmod +x hello.sh && echo "built" > built.txt', 4,
      toTree([d('/app'), f('/app/hello.sh', 112, 'M'), f('/app/built.txt', 6)]), { cached: false }),
    layer(4, 'CMD ["./hello.sh"]', 5, [], { cached: false }),
  ],
};

export const wastefulImage: ImageVM = {
  id: fakeDigest('wasteful-image'),
  tags: ['wasteful:latest'],
  layers: [
    baseLayer(),
    layer(1, 'RUN wget -O /tmp/big.tar.gz http://example/big.tar.gz && tar -xzf /tmp/big.tar.gz -C /opt', 2,
      toTree([d('/tmp'), f('/tmp/big.tar.gz', 4_200_000), d('/opt', 'A'), d('/opt/tool', 'A'), f('/opt/tool/bin', 2_600_000), f('/opt/tool/README', 3_400)])),
    layer(2, 'ENV PATH=/opt/tool:$PATH', 3, []),
    layer(3, 'RUN rm /tmp/big.tar.gz && rm -rf /opt/tool/README', 4,
      toTree([d('/tmp'), f('/tmp/big.tar.gz', 0, 'D'), d('/opt'), d('/opt/tool'), f('/opt/tool/README', 0, 'D')])),
    layer(4, 'LABEL lesson="deleting later does not shrink"', 5, []),
  ],
};

export const fixtureImages: ImageVM[] = [appImage, wastefulImage];

export const fixtureWritableLayers: WritableLayerVM[] = [
  {
    containerName: 'web',
    image: appImage.id,
    state: 'running',
    entries: [
      { path: '/tmp/notes.txt', kind: 'A', size: 42 },
      { path: '/app/hello.sh', kind: 'C', size: 130 },
      { path: '/etc/hostname', kind: 'C', size: 12 },
    ],
  },
  { containerName: 'worker', image: appImage.id, state: 'exited', entries: [{ path: '/app/built.txt', kind: 'D', size: 0 }] },
];

/** Every path of a tree, depth first, with `@layer` where the node says which layer it comes from (for tests). */
export function pathsWithLayers(nodes: MergedNodeVM[]): string[] {
  const out: string[] = [];
  walk(nodes, (n: MergedNodeVM) => out.push(n.path + (n.layer !== undefined ? `@${n.layer}` : '')));
  return out;
}
