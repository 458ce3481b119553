import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Machine, MachineError, type MachineAssets, type MachineNetwork } from './machine';

/** The VM assets folder written by `npm run build:vm` (served to browsers as /vm/). */
export const DEFAULT_ASSETS_DIR = resolve(import.meta.dirname, '../../public/vm');

export function v86WasmPath(): string {
  return createRequire(import.meta.url).resolve('v86/build/v86.wasm');
}

async function readAsset(dir: string, name: string): Promise<ArrayBuffer> {
  try {
    const bytes = await readFile(join(dir, name));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (error) {
    throw new MachineError(
      `VM asset ${join(dir, name)} is missing or unreadable (${(error as NodeJS.ErrnoException).code}): run \`npm run build:vm\``,
    );
  }
}

export interface NodeMachineOptions {
  /** Folder with the VM assets. Default: public/vm. */
  dir?: string;
  /** Cold-boot from kernel + initrd instead of restoring the snapshot (the VM build does this). */
  coldBoot?: boolean;
  /** A relay for the guest's network (src/server/relay.ts `startLocalRelay`); none: no way out. */
  network?: MachineNetwork;
  /** Without `network`: what a failed RUN step adds. */
  offlineReason?: string;
}

/** Starts the VM under Node from the built assets. */
export async function startNodeMachine(options: NodeMachineOptions = {}): Promise<Machine> {
  const dir = options.dir ?? DEFAULT_ASSETS_DIR;
  const assets: MachineAssets = {
    bios: await readAsset(dir, 'bios.bin'),
    vgaBios: await readAsset(dir, 'vgabios.bin'),
  };
  if (options.coldBoot) {
    assets.bzImage = await readAsset(dir, 'bzImage');
    assets.initrd = await readAsset(dir, 'initrd.img');
    assets.cmdline = new TextDecoder().decode(await readAsset(dir, 'cmdline.txt')).trim();
  } else {
    assets.state = await readAsset(dir, 'state.bin.zst');
  }
  return Machine.start({ assets, wasmPath: v86WasmPath(), network: options.network, offlineReason: options.offlineReason });
}
