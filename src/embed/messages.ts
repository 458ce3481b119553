/**
 * Which messages the sandbox obeys. Pure functions, so the rules have table tests (messages.test.ts):
 * a command must come from the parent window, from an allowed origin, and be well formed.
 */
import { asFileMap, EmbedConfigError } from './codec.ts';
import { SOURCE, type Command } from './protocol.ts';

export type Verdict = { ok: true; command: Command } | { ok: false; reason: 'not-layerlab' | 'not-parent' | 'origin' | 'malformed'; detail?: string };

export interface Incoming {
  data: unknown;
  origin: string;
  /** Compared by identity with `parent`. */
  source: unknown;
}

/** The gate every incoming message goes through. Order matters: never parse what we would not obey. */
export function judgeMessage(message: Incoming, gate: { parent: unknown; origins: readonly string[] }): Verdict {
  const data = message.data as { source?: unknown } | null;
  if (!data || typeof data !== 'object' || data.source !== SOURCE) return { ok: false, reason: 'not-layerlab' };
  if (message.source !== gate.parent || message.source === null) return { ok: false, reason: 'not-parent' };
  if (!gate.origins.includes(message.origin)) return { ok: false, reason: 'origin', detail: message.origin };
  try {
    return { ok: true, command: parseCommand(message.data) };
  } catch (e) {
    return { ok: false, reason: 'malformed', detail: (e as Error).message };
  }
}

/** Throws EmbedConfigError for anything that is not exactly a known command. */
export function parseCommand(data: unknown): Command {
  const d = data as Record<string, unknown>;
  const id = d.id === undefined ? undefined : typeof d.id === 'string' && d.id.length <= 100 ? d.id : bad('id must be a short string');
  switch (d.type) {
    case 'set-files':
      if (d.replace !== undefined && typeof d.replace !== 'boolean') bad('replace must be true or false');
      return { type: 'set-files', files: asFileMap(d.files, 'set-files files'), replace: d.replace === true, id };
    case 'build':
      if (d.tag !== undefined && (typeof d.tag !== 'string' || !/^[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(d.tag))) bad('tag must be an image name like app or app:v2');
      return { type: 'build', tag: d.tag as string | undefined, id };
    case 'run':
      if (typeof d.command !== 'string' || d.command.length === 0 || d.command.length > 4096) bad('command must be a string of 1–4096 characters');
      return { type: 'run', command: (d.command as string).replace(/[\r\n]+$/, ''), id };
    default:
      return bad(`unknown command type ${JSON.stringify(d.type)}`);
  }
}

function bad(message: string): never {
  throw new EmbedConfigError(message);
}
