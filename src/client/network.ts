/** Network verbs: network create/ls/inspect/rm/connect/disconnect, and `docker port`. */
import { formatTable } from './format.ts';
import { formatPortLines } from './ports.ts';
import { NotFoundError } from '../engine/index.ts';
import { bool, CliError, eachTarget, inspectEach, list, str, type Verb } from './shared.ts';

const networkCreate: Verb = {
  usage: 'network create [OPTIONS] NETWORK',
  summary: 'Create a network',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'driver', short: 'd', kind: 'string', description: 'Driver to manage the Network (default "bridge")' },
    { name: 'subnet', kind: 'list', description: 'Subnet in CIDR format that represents a network segment' },
    { name: 'gateway', kind: 'list', description: 'IPv4 Gateway for the master subnet' },
    { name: 'internal', kind: 'bool', description: 'Restrict external access to the network' },
    { name: 'label', kind: 'list', description: 'Set metadata on a network' },
  ],
  async run(ctx, flags, [name]) {
    const labels = Object.fromEntries(list(flags, 'label').map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')]));
    const { id } = await ctx.engine.networkCreate({
      name,
      driver: str(flags, 'driver'),
      subnet: list(flags, 'subnet')[0],
      gateway: list(flags, 'gateway')[0],
      internal: bool(flags, 'internal'),
      labels,
    });
    ctx.print({ id }, () => `${id}\n`);
    return 0;
  },
};

const networkLs: Verb = {
  usage: 'network ls [OPTIONS]',
  summary: 'List networks',
  args: { max: 0 },
  flags: [
    { name: 'quiet', short: 'q', kind: 'bool', description: 'Only display network IDs' },
    { name: 'no-trunc', kind: 'bool', description: 'Do not truncate the output' },
  ],
  async run(ctx, flags) {
    const networks = await ctx.engine.networks();
    const id = (n: { id: string }) => (bool(flags, 'no-trunc') ? n.id : n.id.slice(0, 12));
    ctx.print(networks, () =>
      bool(flags, 'quiet')
        ? networks.map((n) => `${id(n)}\n`).join('')
        : formatTable({
            columns: [
              { header: 'NETWORK ID', value: id },
              { header: 'NAME', value: (n) => n.name },
              { header: 'DRIVER', value: (n) => n.driver },
              { header: 'SCOPE', value: (n) => n.scope },
            ],
            rows: networks,
          }),
    );
    return 0;
  },
};

const networkInspect: Verb = {
  usage: 'network inspect [OPTIONS] NETWORK [NETWORK...]',
  summary: 'Display detailed information on one or more networks',
  args: { min: 1 },
  flags: [],
  run: (ctx, _flags, names) => inspectEach(ctx, names, (network) => ctx.engine.networkInspect({ network }), (network) => `Error response from daemon: network ${network} not found`),
};

const networkRm: Verb = {
  usage: 'network rm NETWORK [NETWORK...]',
  summary: 'Remove one or more networks',
  args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', description: 'Do not error if the network does not exist' }],
  async run(ctx, flags, names) {
    return eachTarget(ctx, names, async (network) => {
      try {
        await ctx.engine.networkRm({ network });
      } catch (error) {
        // -f: a network that does not exist is no error (and prints nothing), as in Docker.
        if (bool(flags, 'force') && error instanceof NotFoundError) return undefined;
        throw error;
      }
      return network;
    });
  },
};

const networkConnect: Verb = {
  usage: 'network connect [OPTIONS] NETWORK CONTAINER',
  summary: 'Connect a container to a network',
  args: { min: 2, max: 2 },
  flags: [
    { name: 'alias', kind: 'list', description: 'Add network-scoped alias for the container' },
    { name: 'ip', kind: 'string', description: 'IPv4 address (e.g., "172.30.100.104")' },
  ],
  async run(ctx, flags, [network, container]) {
    await ctx.engine.networkConnect({ network, container, aliases: list(flags, 'alias'), ip: str(flags, 'ip') });
    return 0;
  },
};

const networkDisconnect: Verb = {
  usage: 'network disconnect [OPTIONS] NETWORK CONTAINER',
  summary: 'Disconnect a container from a network',
  args: { min: 2, max: 2 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', description: 'Force the container to disconnect from a network' }],
  async run(ctx, flags, [network, container]) {
    await ctx.engine.networkDisconnect({ network, container, force: bool(flags, 'force') });
    return 0;
  },
};

const port: Verb = {
  usage: 'port CONTAINER [PRIVATE_PORT[/PROTO]]',
  summary: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  flags: [],
  async run(ctx, _flags, [container, filter]) {
    const bindings = await ctx.engine.port({ container });
    const lines = formatPortLines(bindings, filter);
    if (filter !== undefined && !lines.length) {
      throw new CliError(`Error: No public port '${filter.includes('/') ? filter : `${filter}/tcp`}' published for ${container}`, 1);
    }
    ctx.print(bindings, () => lines.map((l) => `${l}\n`).join(''));
    return 0;
  },
};

export const networkVerbs = { networkCreate, networkLs, networkInspect, networkRm, networkConnect, networkDisconnect, port };
