/** Registry verbs: pull, push, login, logout, manifest inspect. */
import { createTransferRenderer } from './transfer-progress.ts';
import { RegistryError, RegistryUnavailableError, PlatformError, isLocalRegistry, locate, parseReference, type TransferEvent } from '../engine/index.ts';
import { bool, CliError, daemonMessage, str, type Ctx, type Verb } from './shared.ts';
import type { ParsedFlags } from './flags.ts';

function transferError(error: unknown): never {
  if (error instanceof RegistryUnavailableError || error instanceof PlatformError) throw new CliError(daemonMessage(error), 1);
  throw error;
}

/** Progress of a pull or push (none with -q or --json), after Docker's note when `ref` names no tag. */
function transferProgress(ctx: Ctx, flags: ParsedFlags['flags'], tagless: boolean): { quiet: boolean; onProgress?: (event: TransferEvent) => void } {
  const quiet = bool(flags, 'quiet') || ctx.json;
  if (quiet) return { quiet };
  if (tagless) ctx.out('Using default tag: latest\n');
  return { quiet, onProgress: createTransferRenderer({ write: (text) => ctx.out(text), tty: Boolean(ctx.options.tty) }) };
}

const pull: Verb = {
  usage: 'pull [OPTIONS] NAME[:TAG|@DIGEST]',
  summary: 'Download an image from a registry',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'platform', kind: 'string', description: 'Set platform if server is multi-platform capable (Layerlab: linux/386 only)' },
    { name: 'quiet', short: 'q', kind: 'bool', description: 'Suppress verbose output' },
    { name: 'all-tags', short: 'a', kind: 'bool', description: 'Download all tagged images in the repository (not supported)' },
  ],
  async run(ctx: Ctx, flags, [ref]) {
    if (bool(flags, 'all-tags')) throw new CliError('Layerlab pulls one tag at a time: leave out --all-tags', 1);
    const { onProgress } = transferProgress(ctx, flags, !ref.includes(':') && !ref.includes('@'));
    const result = await ctx.engine.pull({ ref, platform: str(flags, 'platform'), onProgress }).catch(transferError);
    ctx.print(result, () => `${result.canonical}\n`);
    return 0;
  },
};

const push: Verb = {
  usage: 'push [OPTIONS] NAME[:TAG]',
  summary: 'Upload an image to a registry',
  args: { min: 1, max: 1 },
  flags: [{ name: 'quiet', short: 'q', kind: 'bool', description: 'Suppress verbose output' }],
  async run(ctx, flags, [ref]) {
    const { quiet, onProgress } = transferProgress(ctx, flags, !ref.split('/').pop()!.includes(':'));
    const result = await ctx.engine.push({ ref, onProgress }).catch((error) => {
      if (error instanceof Error && error.name === 'NotFoundError') throw new CliError(`An image does not exist locally with the tag: ${ref.includes(':') ? ref.split(':')[0] : ref}`, 1);
      return transferError(error);
    });
    if (quiet) ctx.print(result, () => `${ref}\n`);
    return 0;
  },
};

const login: Verb = {
  usage: 'login [OPTIONS] [SERVER]',
  summary: 'Log in to a registry',
  args: { max: 1 },
  flags: [
    { name: 'username', short: 'u', kind: 'string', description: 'Username' },
    { name: 'password', short: 'p', kind: 'string', description: 'Password' },
    { name: 'password-stdin', kind: 'bool', description: 'Take the password from stdin (not available in Layerlab: use -p)' },
  ],
  async run(ctx, flags, [server]) {
    const username = str(flags, 'username');
    const password = str(flags, 'password');
    if (bool(flags, 'password-stdin')) throw new CliError('Layerlab cannot read a password from stdin: use docker login -u USER -p PASSWORD', 1);
    if (!username || password === undefined) throw new CliError('Layerlab has no interactive prompt here: use docker login -u USER -p PASSWORD [SERVER]', 1);
    ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    await ctx.engine.login({ server, username, password });
    ctx.out('Layerlab keeps these credentials in memory for this session only: they are never written to storage, and closing Layerlab forgets them.\n');
    ctx.out('Login Succeeded\n');
    return 0;
  },
};

const logout: Verb = {
  usage: 'logout [SERVER]',
  summary: 'Log out from a registry',
  args: { max: 1 },
  flags: [],
  async run(ctx, _flags, [server]) {
    const { registry, wasLoggedIn } = await ctx.engine.logout({ server });
    const address = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
    ctx.out(wasLoggedIn ? `Removing login credentials for ${address}\n` : `Not logged in to ${address}\n`);
    return 0;
  },
};

const manifestInspect: Verb = {
  usage: 'manifest inspect [OPTIONS] [MANIFEST_LIST] MANIFEST',
  summary: 'Display an image manifest, or manifest list',
  args: { min: 1, max: 2 },
  flags: [
    { name: 'insecure', kind: 'bool', description: 'Allow communication with an insecure registry (Layerlab: plain HTTP for localhost and 127.0.0.1 only)' },
    { name: 'verbose', short: 'v', kind: 'bool', description: 'Output additional info including layers and platform (not supported)' },
  ],
  async run(ctx, flags, args) {
    if (bool(flags, 'verbose')) throw new CliError('Layerlab prints the manifest itself: leave out --verbose (the layers and platform are in it, or in the index it names)', 1);
    if (args.length === 2) throw new CliError('Layerlab has no local manifest lists: give one image reference', 1);
    const [ref] = args;
    if (bool(flags, 'insecure') && !isLocalRegistry(locate(parseReference(ref)).apiHost))
      throw new CliError(`Layerlab speaks plain HTTP only to localhost and 127.0.0.1: leave out --insecure for ${ref}`, 1);
    const manifest = await ctx.engine.manifestInspect({ ref }).catch((error: unknown) => {
      if (error instanceof RegistryError && error.status === 404) throw new CliError(`no such manifest: ${ref}`, 1);
      return transferError(error);
    });
    ctx.print(JSON.parse(manifest.text), () => `${JSON.stringify(JSON.parse(manifest.text), null, '\t')}\n`);
    return 0;
  },
};

export const registryVerbs = { pull, push, login, logout, manifestInspect };
