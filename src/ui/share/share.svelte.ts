/**
 * Share links in the app: making one from the workspace, and opening one into its own workspace
 * (`shared:<hash>`), so the learner's own files are never touched unless they choose "Keep a copy".
 */
import type { Workspace } from '../workspace/workspace.svelte.ts';
import { decodeShareLink, encodeShareLink, isShareHash, ShareLinkError, shareId, SHARE_PREFIX } from './share-link.ts';

export interface ShareHost {
  workspace: Workspace;
  notify(message: string, kind?: 'info' | 'error' | 'success'): void;
  /** The page's location and history (tests pass their own). */
  location?: Pick<Location, 'hash' | 'href'>;
  history?: Pick<History, 'replaceState'>;
}

export class ShareState {
  /** The shared workspace on screen; null when the learner's own is. */
  viewing = $state<{ id: string; files: number } | null>(null);
  /** Why the last link could not be opened (shown until dismissed). */
  error = $state<string | null>(null);
  /** The last link made with "Share", shown in a field to copy by hand when the clipboard refuses. */
  link = $state<{ url: string; copied: boolean; skipped: string[] } | null>(null);
  /** "Keep a copy" asks before replacing the learner's own files. */
  confirmingKeep = $state(false);
  busy = $state(false);

  #host: ShareHost;
  /** Where the learner was before the link (their own workspace id). */
  #returnTo = 'default';

  constructor(host: ShareHost) {
    this.#host = host;
  }

  get #location() {
    return this.#host.location ?? location;
  }

  /** Makes a link for the current workspace and tries to put it on the clipboard. */
  async create(): Promise<void> {
    const ws = this.#host.workspace;
    try {
      const encoded = await encodeShareLink({ files: ws.files, tag: ws.tag, active: ws.active });
      const url = this.#location.href.replace(/#.*$/, '') + encoded.hash;
      let copied = false;
      try {
        await navigator.clipboard.writeText(url);
        copied = true;
      } catch {
        // No permission or no clipboard (http, some browsers): the field below still has the link.
      }
      this.link = { url, copied, skipped: encoded.skipped };
    } catch (error) {
      this.link = null;
      this.#host.notify(error instanceof ShareLinkError ? error.message : `Could not make a share link: ${(error as Error).message}`, 'error');
    }
  }

  /** Opens the link in the location hash, if there is one. Never throws. */
  async openFromLocation(): Promise<void> {
    const hash = this.#location.hash;
    if (!isShareHash(hash)) return;
    this.busy = true;
    try {
      const shared = await decodeShareLink(hash);
      const id = await shareId(shared);
      const ws = this.#host.workspace;
      if (!this.viewing) this.#returnTo = ws.id;
      await ws.switchTo(id, shared.files, shared.tag);
      if (shared.active && ws.get(shared.active)) ws.open(shared.active);
      this.viewing = { id, files: shared.files.length };
      this.error = null;
    } catch (error) {
      this.error = error instanceof ShareLinkError ? error.message : `This share link could not be opened: ${(error as Error).message}`;
      this.#clearHash();
    } finally {
      this.busy = false;
    }
  }

  /** Back to the learner's own workspace; the shared one stays saved under its id. */
  async back(): Promise<void> {
    if (!this.viewing) return;
    const ws = this.#host.workspace;
    await ws.switchTo(this.#returnTo, ws.files);
    this.viewing = null;
    this.confirmingKeep = false;
    this.#clearHash();
  }

  /** The shared files become the learner's own workspace (after `confirmingKeep`). */
  async keep(): Promise<void> {
    if (!this.viewing) return;
    const ws = this.#host.workspace;
    const files = ws.files;
    const tag = ws.tag;
    await ws.switchTo(this.#returnTo, files);
    ws.replace(files, ws.active);
    ws.setTag(tag);
    this.viewing = null;
    this.confirmingKeep = false;
    this.#clearHash();
    this.#host.notify('The shared files are now your workspace.', 'success');
  }

  /** Follows share links pasted into the address bar of an open tab. Returns a stop function. */
  listen(): () => void {
    const onHash = () => {
      if (isShareHash(location.hash)) void this.openFromLocation();
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }

  #clearHash(): void {
    const loc = this.#location;
    if (!loc.hash.startsWith(SHARE_PREFIX)) return;
    (this.#host.history ?? history).replaceState(null, '', loc.href.replace(/#.*$/, ''));
  }
}
