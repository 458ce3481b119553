/**
 * The embed page's configuration, read from its URL. Pure (no DOM): `parseEmbedConfig` gets the URL and
 * what the page knows about who embeds it, so every rule here has a table test (config.test.ts).
 *
 *   embed.html?panels=editor,layers&readonly=1&theme=dark&command=docker%20build%20.&origins=https://docs.example&registry=1
 *             #files=<base64url JSON {"Dockerfile": "…"}>
 */
import { decodeFiles, EmbedConfigError } from './codec.ts';
import type { FileMap, PanelName } from './protocol.ts';

export interface EmbedConfig {
  /** Inline files (`#files=`); null when not given. */
  files: FileMap | null;
  /** A JSON `{ path: text }` to fetch (`filesUrl=`), absolute. Fetched without credentials. */
  filesUrl: string | null;
  /** A Dockerfile to fetch (`dockerfileUrl=`), absolute. */
  dockerfileUrl: string | null;
  /** A lesson folder id (`lesson=03-copy-on-write`): its starting files and image tag. */
  lesson: string | null;
  panels: Record<PanelName, boolean>;
  /** Typed into the terminal once the VM is up (`command=`). */
  command: string | null;
  readOnly: boolean;
  theme: 'light' | 'dark';
  /** Height in CSS pixels the page asks its host for (`height=`); null to leave it to the host. */
  height: number | null;
  /** Image tag for builds (`tag=`); null for the default (`app`, or the lesson's). */
  tag: string | null;
  /** Origins whose commands are obeyed and to which events are sent. See docs/embed.md, "Security". */
  origins: string[];
  /** Where this embed keeps its workspace and images, or null for memory only (nothing persists). */
  storageNamespace: string | null;
  /** `backend=fake`: the UI on fixtures, no VM (tests, trying layouts). */
  fakeBackend: boolean;
  /** `registry=1`: the embedding page lets this sandbox pull from registries (through the server's proxy). */
  registry: boolean;
}

export interface EmbedContext {
  /**
   * The origin of the page that embeds this one (from `location.ancestorOrigins`, else the referrer);
   * null when framed but the browser won't say (e.g. `Referrer-Policy: no-referrer` in Firefox).
   */
  embedder: string | null;
  /** False when embed.html is opened on its own (no parent to talk to). */
  framed: boolean;
}

const PANELS: PanelName[] = ['editor', 'layers', 'terminal'];
const MAX_COMMAND = 4096;

export function parseEmbedConfig(url: URL, context: EmbedContext): EmbedConfig {
  const q = url.searchParams;
  const hash = new URLSearchParams(url.hash.slice(1));
  const files = hash.get('files') ? decodeFiles(hash.get('files')!) : null;

  const panelList = q.get('panels');
  const panels = Object.fromEntries(PANELS.map((p) => [p, panelList === null])) as Record<PanelName, boolean>;
  if (panelList !== null) {
    for (const name of panelList.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!PANELS.includes(name as PanelName)) throw new EmbedConfigError(`Unknown panel "${name}": use ${PANELS.join(', ')}.`);
      panels[name as PanelName] = true;
    }
    if (!PANELS.some((p) => panels[p])) throw new EmbedConfigError('panels= names no panel: use editor, layers and/or terminal.');
  }

  const command = q.get('command');
  if (command !== null && command.length > MAX_COMMAND) throw new EmbedConfigError(`command= is longer than ${MAX_COMMAND} characters.`);
  const heightRaw = q.get('height');
  const height = heightRaw === null ? null : Number.parseInt(heightRaw, 10);
  if (height !== null && !(height >= 160 && height <= 4000)) throw new EmbedConfigError('height= must be a number of pixels between 160 and 4000.');

  const lesson = q.get('lesson');
  if (lesson !== null && !/^[a-z0-9][a-z0-9-]{0,80}$/.test(lesson)) throw new EmbedConfigError(`"${lesson}" is not a lesson id (like 03-copy-on-write).`);
  const tag = q.get('tag');
  if (tag !== null && !/^[a-z0-9][a-z0-9._/-]{0,127}$/.test(tag)) throw new EmbedConfigError(`"${tag}" is not an image name.`);

  const origins = q.get('origins') !== null ? parseOrigins(q.get('origins')!) : context.embedder ? [context.embedder] : [];
  const filesUrl = absoluteUrl(q.get('filesUrl'), url, 'filesUrl');
  const dockerfileUrl = absoluteUrl(q.get('dockerfileUrl'), url, 'dockerfileUrl');

  return {
    files,
    filesUrl,
    dockerfileUrl,
    lesson,
    panels,
    command: command?.replace(/[\r\n]+$/, '') || null,
    readOnly: ['1', 'true', ''].includes(q.get('readonly') ?? 'no'),
    theme: q.get('theme') === 'dark' ? 'dark' : 'light',
    height,
    tag,
    origins,
    storageNamespace: storageNamespace(context, q.get('ns') ?? '', { files, filesUrl, dockerfileUrl, lesson }),
    fakeBackend: q.get('backend') === 'fake',
    registry: q.get('registry') === '1',
  };
}

/** `https://a.example, http://localhost:8080` → exact origins. Wildcards and `null` are refused. */
export function parseOrigins(list: string): string[] {
  const out: string[] = [];
  for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    let origin: string;
    try {
      origin = new URL(item).origin;
    } catch {
      throw new EmbedConfigError(`origins=: "${item}" is not an origin like https://docs.example.com.`);
    }
    if (origin === 'null' || item.includes('*')) throw new EmbedConfigError(`origins=: "${item}" is not allowed; list exact origins.`);
    if (item.replace(/\/$/, '') !== origin) throw new EmbedConfigError(`origins=: "${item}" is not an origin (no path); did you mean ${origin}?`);
    if (!out.includes(origin)) out.push(origin);
  }
  return out;
}

function absoluteUrl(value: string | null, base: URL, name: string): string | null {
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new EmbedConfigError(`${name}= is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new EmbedConfigError(`${name}= must be an http(s) URL.`);
  return url.href;
}

/**
 * Per embed, per embedding origin: the embedder's origin is part of the name, so a page on another site
 * can never open (and read back through events) what a learner typed into someone else's embed. When the
 * embedder is unknown the embed keeps nothing (memory only). The rest tells embeds on one page apart
 * (`ns=`, which the loader fills in) and gives changed example files a fresh workspace.
 */
export function storageNamespace(context: EmbedContext, ns: string, source: { files: FileMap | null; filesUrl: string | null; dockerfileUrl: string | null; lesson: string | null }): string | null {
  if (context.framed && !context.embedder) return null;
  const who = context.framed ? context.embedder : 'direct';
  return `embed:${who}:${ns.slice(0, 64)}:${hash(JSON.stringify(source))}`;
}

/** FNV-1a, 32 bits, base 36: only to tell configurations apart, not for security. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** What the browser says about who embeds this page. */
export function embedContext(win: Window): EmbedContext {
  const framed = win.parent !== win;
  if (!framed) return { framed, embedder: null };
  const ancestors = win.location.ancestorOrigins;
  if (ancestors && ancestors.length > 0 && ancestors[0] !== 'null') return { framed, embedder: ancestors[0] };
  try {
    const referrer = win.document.referrer ? new URL(win.document.referrer).origin : null;
    return { framed, embedder: referrer && referrer !== 'null' ? referrer : null };
  } catch {
    return { framed, embedder: null };
  }
}
