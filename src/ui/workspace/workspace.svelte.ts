/**
 * The workspace as app state: files, the open file, and autosave. Every change goes through a method
 * here, so saving is in one place; a failed save keeps the data in memory, says so, and retries.
 */
import type { WorkspaceSnapshot, WorkspaceStore } from '../persist/store.ts';
import {
  checkPath, decodeIfText, DEFAULT_FILES, editorRefusal, fileSize, MAX_DROP_BYTES, WorkspaceError,
  type WorkspaceFile,
} from './files.ts';

export type SaveState = 'saved' | 'pending' | 'saving' | 'error' | 'unsaved-memory';

export class Workspace {
  files = $state.raw<WorkspaceFile[]>(DEFAULT_FILES);
  active = $state('Dockerfile');
  tag = $state('app');
  saveState = $state<SaveState>('saved');
  saveError = $state<string | null>(null);
  /** Bumps on every content change (editors compare it to skip echoing their own edits). */
  revision = $state(0);

  activeFile = $derived(this.files.find((f) => f.path === this.active) ?? null);
  activeRefusal = $derived(this.activeFile ? editorRefusal(this.activeFile) : null);
  dockerfile = $derived(this.files.find((f) => f.path === 'Dockerfile'));
  paths = $derived(this.files.map((f) => f.path).sort(sortPaths));

  #store: WorkspaceStore | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #delayMs: number;

  /** Called with the files after each save (the app mirrors them into the VM). */
  onSaved: ((files: WorkspaceFile[]) => void) | null = null;

  #id = 'default';

  constructor(options: { saveDelayMs?: number } = {}) {
    this.#delayMs = options.saveDelayMs ?? 400;
  }

  /** Start from `files` instead of the built-in example (before `restore`; a saved workspace still wins). */
  replaceDefaults(files: WorkspaceFile[]): void {
    this.files = files;
    this.active = files.some((f) => f.path === 'Dockerfile') ? 'Dockerfile' : (files[0]?.path ?? '');
  }

  /** Load from the store (or keep the defaults) and start autosaving to it. */
  async restore(store: WorkspaceStore): Promise<void> {
    this.#store = store;
    try {
      const snap = await store.load();
      if (snap && snap.files.length > 0) {
        this.files = snap.files;
        this.active = snap.files.some((f) => f.path === snap.active) ? snap.active : snap.files[0].path;
        this.tag = snap.tag || 'app';
      }
      this.saveState = store.kind === 'memory' ? 'unsaved-memory' : 'saved';
    } catch (e) {
      this.saveState = 'error';
      this.saveError = `Could not read your saved workspace: ${(e as Error).message}`;
    }
  }

  /**
   * Switch to another saved workspace (each lesson has its own; free play is `default`): saves this one,
   * then loads `id`, or starts it from `files` when it was never saved.
   */
  async switchTo(id: string, files: WorkspaceFile[], tag?: string): Promise<void> {
    await this.flush();
    this.#id = id;
    const snap = await this.#store?.load(id).catch(() => null);
    if (snap && snap.files.length > 0) {
      this.files = snap.files;
      this.active = snap.files.some((f) => f.path === snap.active) ? snap.active : snap.files[0].path;
      this.tag = snap.tag || 'app';
    } else {
      this.replaceDefaults(files);
      if (tag) this.tag = tag;
    }
    this.revision++;
    // Saved (and mirrored into the VM) at once: the learner's next command may build these files.
    await this.flush();
  }

  /** Which saved workspace is open (`default` = free play). */
  get id(): string {
    return this.#id;
  }

  snapshot(): WorkspaceSnapshot {
    return { files: this.files, active: this.active, tag: this.tag, savedAt: Date.now() };
  }

  get(path: string): WorkspaceFile | undefined {
    return this.files.find((f) => f.path === path);
  }

  open(path: string): void {
    if (this.get(path)) {
      this.active = path;
      this.#changed(false);
    }
  }

  setText(path: string, text: string): void {
    const i = this.files.findIndex((f) => f.path === path);
    if (i < 0 || this.files[i].content === text) return;
    const next = this.files.slice();
    next[i] = { path, content: text };
    this.files = next;
    this.#changed(true);
  }

  setTag(tag: string): void {
    this.tag = tag;
    this.#changed(false);
  }

  /** Throws WorkspaceError with a message for the learner. */
  create(rawPath: string, content: string | Uint8Array = ''): string {
    const path = checkPath(rawPath, this.files.map((f) => f.path));
    this.files = [...this.files, { path, content }];
    this.active = path;
    this.#changed(true);
    return path;
  }

  rename(from: string, rawTo: string): string {
    const to = checkPath(rawTo, this.files.map((f) => f.path), from);
    this.files = this.files.map((f) => (f.path === from ? { ...f, path: to } : f));
    if (this.active === from) this.active = to;
    this.#changed(true);
    return to;
  }

  remove(path: string): void {
    this.files = this.files.filter((f) => f.path !== path);
    if (this.active === path) this.active = this.files.find((f) => f.path === 'Dockerfile')?.path ?? this.files[0]?.path ?? '';
    this.#changed(true);
  }

  /** A file dropped or picked from disk. Refuses files over 5 MB with a message. */
  async addFromDisk(file: File, dir = ''): Promise<string> {
    if (file.size > MAX_DROP_BYTES) {
      throw new WorkspaceError(
        `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MB; the workspace takes files up to 5 MB (the whole VM runs in this tab).`,
        file.name,
      );
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const content = decodeIfText(bytes);
    const path = dir ? `${dir}/${file.name}` : file.name;
    const existing = this.get(path);
    if (existing) {
      this.files = this.files.map((f) => (f.path === path ? { path, content } : f));
      this.active = path;
      this.#changed(true);
      return path;
    }
    return this.create(path, content);
  }

  totalBytes(): number {
    return this.files.reduce((s, f) => s + fileSize(f), 0);
  }

  /** Replace all files (reset to defaults, or a lesson's starting files). */
  replace(files: WorkspaceFile[], active = 'Dockerfile'): void {
    this.files = files;
    this.active = files.some((f) => f.path === active) ? active : (files[0]?.path ?? '');
    this.#changed(true);
  }

  #changed(content: boolean): void {
    if (content) this.revision++;
    if (!this.#store) return;
    if (this.saveState !== 'unsaved-memory') this.saveState = 'pending';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), this.#delayMs);
  }

  /** Save now (also called on pagehide). */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (!this.#store) return;
    const memory = this.#store.kind === 'memory';
    if (!memory) this.saveState = 'saving';
    try {
      await this.#store.save($state.snapshot(this.snapshot()) as WorkspaceSnapshot, this.#id);
      this.saveState = memory ? 'unsaved-memory' : 'saved';
      this.saveError = null;
      this.onSaved?.($state.snapshot(this.files) as WorkspaceFile[]);
    } catch (e) {
      // Keep everything in memory and retry; the learner sees the reason in the status.
      this.saveState = 'error';
      this.saveError = `Not saved: ${(e as Error).message}. Your work is still here; retrying.`;
      this.#timer = setTimeout(() => void this.flush(), 5000);
    }
  }
}

/**
 * Dockerfile first, then by name regardless of case. Not `localeCompare`: its first call sets up ICU's
 * collator (~20-30 ms), inside the task that mounts the page.
 */
function sortPaths(a: string, b: string): number {
  if (a === 'Dockerfile') return -1;
  if (b === 'Dockerfile') return 1;
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}
