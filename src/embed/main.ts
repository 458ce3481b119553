/**
 * The embed page (embed.html): the app in an iframe, laid out and filled by URL parameters (config.ts),
 * driven by its host page over postMessage (bridge.svelte.ts). Each embed is its own page, so it starts
 * its own VM worker and keeps its own storage (namespaced; see config.ts `storageNamespace`).
 */
import { mountApp, type Backend, type WorkspaceFile } from '../ui/index.ts';
import { startPreviewRelay } from '../preview/relay.ts';
import { openWorkspaceStore } from '../ui/persist/store.ts';
import { asFileMap, EmbedConfigError } from './codec.ts';
import { embedContext, parseEmbedConfig, type EmbedConfig } from './config.ts';
import { SandboxBridge, wireApp } from './bridge.svelte.ts';
import { PROTOCOL_VERSION, type FileMap, type PanelName } from './protocol.ts';
import './embed.css';

const target = document.getElementById('app')!;
const context = embedContext(window);

/** The example's files: inline, else fetched, else the lesson's, else the app's default example. */
async function resolveFiles(config: EmbedConfig): Promise<{ files: WorkspaceFile[] | null; tag: string | null; title: string | null }> {
  let map: FileMap | null = config.files ? { ...config.files } : null;
  if (config.filesUrl) map = { ...map, ...asFileMap(JSON.parse(await fetchText(config.filesUrl)), 'filesUrl') };
  if (config.dockerfileUrl) map = { ...map, Dockerfile: await fetchText(config.dockerfileUrl) };
  let tag: string | null = null;
  let title: string | null = null;
  if (config.lesson) {
    const { loadLessons } = await import('../lessons/browser-loader.ts');
    const lesson = loadLessons().find((l) => l.id === config.lesson || l.id.startsWith(`${config.lesson}-`));
    if (!lesson) throw new EmbedConfigError(`There is no lesson "${config.lesson}".`);
    map ??= Object.fromEntries(lesson.files.map((f) => [f.path, f.content]));
    tag = lesson.image ?? null;
    title = lesson.title;
  }
  return { files: map && Object.entries(map).map(([path, content]) => ({ path, content })), tag, title };
}

/** Fetched like a public asset: no cookies, no credentials, at most 5 MB. */
async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { credentials: 'omit', mode: 'cors', referrerPolicy: 'no-referrer' }).catch((e: Error) => {
    throw new EmbedConfigError(`Could not fetch ${url}: ${e.message} (is it served with CORS?).`);
  });
  if (!response.ok) throw new EmbedConfigError(`Could not fetch ${url}: HTTP ${response.status}.`);
  const text = await response.text();
  if (text.length > 5 * 1024 * 1024) throw new EmbedConfigError(`${url} is larger than 5 MB.`);
  return text;
}

async function createBackend(config: EmbedConfig): Promise<Backend> {
  if (config.fakeBackend) {
    const { createFakeBackend } = await import('../ui/fake/backend.ts');
    return createFakeBackend({ bootStepMs: 150, fixtures: false, stepMs: 120 });
  }
  const { createBrowserBackend } = await import('../host/browser-backend.ts');
  return createBrowserBackend({ storageNamespace: config.storageNamespace ?? undefined, ephemeral: config.storageNamespace === null, registry: config.registry });
}

async function start(): Promise<void> {
  let bridge: SandboxBridge | null = null;
  try {
    const config = parseEmbedConfig(new URL(location.href), context);
    document.documentElement.dataset.theme = config.theme;
    bridge = new SandboxBridge(window, config.origins);
    bridge.send({ type: 'loaded', version: PROTOCOL_VERSION });
    if (config.height) bridge.send({ type: 'resize', height: config.height });

    const [{ files, tag, title }, backend] = await Promise.all([resolveFiles(config), createBackend(config)]);
    if (title) document.title = `${title} · Layerlab`;
    // Published ports preview here too (the Ports tab), served by this page through the Service Worker.
    if (backend.fetchPort) startPreviewRelay((request) => backend.fetchPort!(request));
    const store = await openWorkspaceStore(config.storageNamespace === null ? { memory: true } : { namespace: config.storageNamespace });
    const { app } = await mountApp(target, {
      backend,
      store,
      initialFiles: files ?? undefined,
      layout: { panels: config.panels, readOnly: config.readOnly, theme: config.theme, embedded: true, resetFiles: config.readOnly ? null : files },
    });
    if (tag || config.tag) app.workspace.setTag(config.tag ?? tag!);
    // The app's bottom panel is sized for a full window; in a box, split the height more evenly.
    if (config.panels.editor && config.panels.terminal) app.bottomHeight = Math.max(150, Math.round(window.innerHeight * 0.42));
    const panels = (Object.keys(config.panels) as PanelName[]).filter((p) => config.panels[p]);
    wireApp({ app, backend, bridge, panels, lesson: config.lesson, command: config.command });
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    bridge?.send({ type: 'error', message });
    target.innerHTML = '';
    const box = document.createElement('div');
    box.className = 'embed-error';
    const strong = document.createElement('strong');
    strong.textContent = e instanceof EmbedConfigError ? 'This embedded sandbox is misconfigured' : 'The sandbox could not start';
    const p = document.createElement('p');
    p.textContent = message;
    box.append(strong, p);
    target.append(box);
  }
}

void start();
