/**
 * The embed loader (built to `embed.js`, a few KB): defines `<layerlab-sandbox>`, which shows a poster
 * and creates the sandbox iframe (embed.html) only when scrolled into view or clicked, and turns the
 * postMessage protocol (protocol.ts) into element methods and DOM events. No framework and no runtime
 * imports: everything heavy loads inside the iframe, lazily. Attributes and API: docs/embed.md.
 */
import type { Command, FileMap, SandboxEvent } from './protocol.ts';

// Read while the script runs: the default iframe page sits next to this script (…/embed.js → …/embed.html).
const SCRIPT_URL = typeof document !== 'undefined' ? (document.currentScript as HTMLScriptElement | null)?.src : undefined;

/** Same as codec.ts `encodeFiles` (playwright/embed.spec.ts round-trips through both): base64url of UTF-8 JSON. */
function encodeFiles(files: FileMap): string {
  const bytes = new TextEncoder().encode(JSON.stringify(files));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Text of a `<script type="text/plain">` block without the indentation it had in the page. */
function dedent(text: string): string {
  const lines = text.replace(/^\s*\n/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^[ \t]*/.exec(l)![0].length));
  return lines.map((l) => l.slice(Number.isFinite(indent) ? indent : 0)).join('\n') + '\n';
}

type Pending = { resolve(): void; reject(error: Error): void };
let ordinal = 0;

const STYLE = `
:host{display:block;position:relative;height:var(--h,520px);border:1px solid #d9dee8;border-radius:10px;overflow:hidden;background:#f7f8fb;color:#1d2433;font:14px/1.45 system-ui,sans-serif}
:host([theme=dark]){border-color:#2a3040;background:#171b24;color:#dfe4ee}
iframe{border:0;width:100%;height:100%;display:block}
.p{height:100%;display:grid;grid-template-columns:minmax(0,1fr) auto;gap:18px;padding:22px 24px;box-sizing:border-box;align-items:start}
.c{align-self:center}
pre{margin:0;font:12.5px/1.6 ui-monospace,Menlo,Consolas,monospace;opacity:.8;overflow:hidden;max-height:100%;white-space:pre}
.c{display:flex;flex-direction:column;gap:10px;align-items:center;text-align:center;max-width:240px}
svg{width:54px;height:54px}
button{font:600 14px system-ui,sans-serif;padding:10px 18px;border:0;border-radius:8px;background:#3b63d9;color:#fff;cursor:pointer}
button:hover{background:#2a4cb4}button:focus-visible{outline:3px solid #9db4f0;outline-offset:2px}
small{opacity:.7;font-size:12px}`;

const ICON = `<svg viewBox="0 0 22 22" aria-hidden="true"><rect x="2" y="14" width="18" height="5" rx="1.5" fill="#2c427f"/><rect x="2" y="8.5" width="18" height="4.5" rx="1.5" fill="#4a72d6"/><rect x="2.5" y="3" width="17" height="4.5" rx="1.5" fill="#fff3e6" stroke="#e0802a" stroke-dasharray="2.5 1.5"/></svg>`;

class LayerlabSandbox extends HTMLElement {
  #root = this.attachShadow({ mode: 'open' });
  #frame: HTMLIFrameElement | null = null;
  #origin = '';
  #listening = false;
  #queue: object[] = [];
  #pending = new Map<string, Pending>();
  #ids = 0;
  #observer: IntersectionObserver | null = null;
  #ordinal = ordinal++;

  connectedCallback(): void {
    const h = this.getAttribute('height');
    if (h) this.style.setProperty('--h', /^\d+$/.test(h) ? `${h}px` : h);
    if (this.#frame || this.#root.childNodes.length) return;
    this.#poster();
    if (this.getAttribute('start') !== 'click' && 'IntersectionObserver' in window) {
      this.#observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && this.start(), { threshold: 0.25 });
      this.#observer.observe(this);
    }
  }

  disconnectedCallback(): void {
    this.#observer?.disconnect();
  }

  /** The files this element describes: `files` JSON, then `dockerfile`, then child script blocks. */
  get files(): FileMap {
    const files: FileMap = JSON.parse(this.getAttribute('files') || '{}');
    const dockerfile = this.getAttribute('dockerfile');
    if (dockerfile) files.Dockerfile = dedent(dockerfile);
    for (const s of this.querySelectorAll<HTMLScriptElement>('script[type="text/plain"][data-path]')) files[s.dataset.path!] = dedent(s.textContent || '');
    return files;
  }

  #poster(): void {
    const label = this.getAttribute('label') || 'Docker sandbox';
    this.#root.innerHTML = `<style>${STYLE}</style><div class="p"><pre></pre><div class="c">${ICON}<strong></strong><button type="button">Start sandbox</button><small>Runs a small Linux VM in this page</small></div></div>`;
    this.#root.querySelector('pre')!.textContent = this.files.Dockerfile ?? '';
    this.#root.querySelector('strong')!.textContent = label;
    this.#root.querySelector('button')!.onclick = () => this.start();
  }

  /** The iframe URL: parameters from attributes, files inline in the hash. */
  get frameUrl(): string {
    const base = this.getAttribute('src') || (SCRIPT_URL ? new URL('embed.html', SCRIPT_URL).href : new URL('/embed.html', location.href).href);
    const url = new URL(base, location.href);
    const set = (name: string, value: string | null) => value !== null && value !== '' && url.searchParams.set(name, value);
    for (const name of ['panels', 'lesson', 'command', 'theme', 'height', 'tag', 'backend']) set(name, this.getAttribute(name));
    if (this.hasAttribute('readonly')) set('readonly', '1');
    if (this.hasAttribute('registry')) set('registry', '1');
    for (const [attr, param] of [['files-url', 'filesUrl'], ['dockerfile-url', 'dockerfileUrl']]) {
      const v = this.getAttribute(attr);
      if (v) set(param, new URL(v, location.href).href);
    }
    // Only this page may drive the sandbox (plus any the author lists), and storage is per embed.
    set('origins', [location.origin, ...(this.getAttribute('origins') || '').split(',')].map((s) => s.trim()).filter(Boolean).join(','));
    set('ns', this.getAttribute('ns') || this.id || String(this.#ordinal));
    const files = this.files;
    if (Object.keys(files).length) url.hash = 'files=' + encodeFiles(files);
    return url.href;
  }

  /** Create the iframe now (idempotent). The VM boots inside it. */
  start(): void {
    if (this.#frame) return;
    this.#observer?.disconnect();
    const frame = document.createElement('iframe');
    frame.src = this.frameUrl;
    this.#origin = new URL(frame.src).origin;
    frame.title = this.getAttribute('label') || 'Layerlab Docker sandbox';
    frame.allow = 'clipboard-read; clipboard-write';
    // Across origins the sandbox attribute holds: no top navigation, no forms posting out (allow-same-origin
    // keeps the frame's own origin, for its IndexedDB and workers). On the page's own origin it could not
    // hold (a same-origin frame with scripts can lift it), so none is claimed; see docs/embed.md.
    if (this.#origin !== location.origin) {
      frame.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-modals allow-downloads allow-popups allow-popups-to-escape-sandbox');
    }
    window.addEventListener('message', this.#onMessage);
    this.#frame = frame;
    this.#root.innerHTML = `<style>${STYLE}</style>`;
    this.#root.append(frame);
  }

  #onMessage = (e: MessageEvent): void => {
    // Only our own iframe, only from the origin we loaded it from.
    if (!this.#frame || e.source !== this.#frame.contentWindow || e.origin !== this.#origin) return;
    const data = e.data as ({ source?: string } & SandboxEvent) | null;
    if (!data || data.source !== 'layerlab' || typeof data.type !== 'string') return;
    if (data.type === 'loaded') {
      this.#listening = true;
      for (const m of this.#queue.splice(0)) this.#post(m);
    } else if (data.type === 'resize' && !this.hasAttribute('height')) {
      this.style.setProperty('--h', `${data.height}px`);
    } else if (data.type === 'result') {
      const p = this.#pending.get(data.id);
      this.#pending.delete(data.id);
      if (data.ok) p?.resolve();
      else p?.reject(new Error(data.error || 'failed'));
    }
    const { source: _, ...detail } = data;
    this.dispatchEvent(new CustomEvent(`layerlab:${data.type}`, { detail }));
  };

  #post(message: object): void {
    this.#frame!.contentWindow!.postMessage({ source: 'layerlab', ...message }, this.#origin);
  }

  /** Sends a command (starting the sandbox if needed); resolves when the sandbox has done it. */
  send(command: Command): Promise<void> {
    this.start();
    const id = `c${++this.#ids}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message = { ...command, id };
      if (this.#listening) this.#post(message);
      else this.#queue.push(message);
    });
  }

  setFiles(files: FileMap, options: { replace?: boolean } = {}): Promise<void> {
    return this.send({ type: 'set-files', files, replace: options.replace });
  }

  build(options: { tag?: string } = {}): Promise<void> {
    return this.send({ type: 'build', tag: options.tag });
  }

  run(command: string): Promise<void> {
    return this.send({ type: 'run', command });
  }
}

if (typeof customElements !== 'undefined' && !customElements.get('layerlab-sandbox')) customElements.define('layerlab-sandbox', LayerlabSandbox);
