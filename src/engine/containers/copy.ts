/**
 * `docker cp`: files move as tars through the 9p share.
 * In a container (packContainerPath, extractToContainerPath) the agent's cpout/cpin ops resolve the path
 * inside the container's root, as openat2's RESOLVE_IN_ROOT does: "..", absolute paths and symlinks
 * never lead out of it. For paths of the VM itself (the guest's `docker cp` local side) a small script
 * (given its paths as arguments, never spliced into the script) applies Docker's rule: into DEST when it
 * is an existing directory, otherwise as DEST.
 */
import { GUEST_PATHS, GuestError, type Guest } from '../guest.ts';
import { EngineError } from '../oci/errors.ts';
import { spawnInGuest } from '../guest-spawn.ts';

const EXTRACT = [
  'set -e',
  'tmp=$(mktemp -d /tmp/cp.XXXXXX)',
  'tar -xf "$1" -C "$tmp"',
  'name=$(ls -A "$tmp")',
  'if [ -d "$2" ]; then rm -rf "$2/$name"; mv "$tmp/$name" "$2/"; else mv "$tmp/$name" "$2"; fi',
  'rmdir "$tmp"',
].join('\n');

let transfers = 0;

async function spawn(guest: Guest, argv: string[]): Promise<string> {
  const { exit, stderr } = await spawnInGuest(guest, argv);
  if (exit !== 0) throw new EngineError(stderr.trim().split('\n').pop() || `${argv[0]} failed`);
  return stderr;
}

/** A tar of one guest path (file or directory), named by its last component. */
export async function packGuestPath(guest: Guest, path: string, what = path): Promise<Uint8Array> {
  const clean = path.replace(/\/+$/, '') || '/';
  const slash = clean.lastIndexOf('/');
  const parent = clean.slice(0, slash) || '/';
  const name = clean.slice(slash + 1) || '.';
  const transfer = `cp-${transfers++}.tar`;
  const exists = await guest.request('spawn', { argv: ['/bin/sh', '-c', 'test -e "$1"', 'sh', clean] });
  if (exists.exit !== 0) throw new EngineError(`Could not find the file ${what} in container`);
  await spawn(guest, ['/bin/sh', '-c', 'tar -cf "$1" -C "$2" "$3"', 'sh', `${GUEST_PATHS.share}/${transfer}`, parent, name]);
  try {
    return await guest.getFile(transfer);
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
  }
}

/** Puts a tar made by packGuestPath at `dest` in the guest. */
export async function extractToGuestPath(guest: Guest, tar: Uint8Array, dest: string): Promise<void> {
  const transfer = `cp-${transfers++}.tar`;
  await guest.putFile(transfer, tar);
  try {
    await spawn(guest, ['/bin/sh', '-c', EXTRACT, 'sh', `${GUEST_PATHS.share}/${transfer}`, dest]);
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
  }
}

/** The agent's message without the "guest <op>: <op>: " prefixes. */
function agentMessage(error: unknown, op: string): string | undefined {
  if (!(error instanceof GuestError)) return undefined;
  return error.message.replace(`guest ${op}: `, '').replace(`${op}: `, '');
}

/** A tar of one path of a container's filesystem (`root` = its mounted rootfs), resolved inside it. */
export async function packContainerPath(guest: Guest, root: string, path: string): Promise<Uint8Array> {
  const transfer = `cp-${transfers++}.tar`;
  try {
    await guest.request('cpout', { root, path, tar: `${GUEST_PATHS.share}/${transfer}` }, { timeoutMs: 300_000 });
    return await guest.getFile(transfer);
  } catch (error) {
    const message = agentMessage(error, 'cpout');
    if (message && /No such file or directory|Not a directory/.test(message)) throw new EngineError(`Could not find the file ${path} in container`);
    throw message ? new EngineError(message) : error;
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
  }
}

/** Puts a tar of one file or directory at `path` in a container (into it when it is a directory). */
export async function extractToContainerPath(guest: Guest, tar: Uint8Array, root: string, path: string): Promise<void> {
  const transfer = `cp-${transfers++}.tar`;
  await guest.putFile(transfer, tar);
  try {
    await guest.request('cpin', { root, path, tar: `${GUEST_PATHS.share}/${transfer}` }, { timeoutMs: 300_000 });
  } catch (error) {
    const message = agentMessage(error, 'cpin');
    if (message && /^[^:]*: No such file or directory$/.test(message)) {
      const parent = path.replace(/\/+$/, '').replace(/\/[^/]*$/, '') || '/';
      throw new EngineError(`Could not find the file ${parent} in container`);
    }
    throw message ? new EngineError(message.replace(`${GUEST_PATHS.share}/${transfer}: `, '')) : error;
  } finally {
    await guest.request('rm', { path: `${GUEST_PATHS.share}/${transfer}` }).catch(() => {});
  }
}
