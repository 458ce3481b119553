/**
 * App state: one instance per page, created by mountApp. Components read it and call its methods;
 * all engine access goes through `Backend`.
 */
import { commandLineFor } from './terminal/typed.ts';
import type { Backend, EngineView } from './backend.ts';
import { BootError, missingBrowserFeature, type BootProgress } from './boot/boot.ts';
import { EditorState } from './editor/state.svelte.ts';
import type { ImageVM, MergedNodeVM, WritableLayerVM } from './layers/model.ts';
import type { BuildLogVM, ContainerRowVM, ImageRowVM, TransferVM } from './panels/types.ts';
import { TerminalBridge } from './terminal/port.ts';
import type { WorkspaceStore } from './persist/store.ts';
import { resolveLayout, type AppLayout } from './layout.ts';
import { Workspace } from './workspace/workspace.svelte.ts';
import type { WorkspaceFile } from './workspace/files.ts';
import type { Lesson } from '../lessons/schema.ts';
import { ShareState } from './share/share.svelte.ts';
import { ThemeState } from './theme/theme.svelte.ts';
import { latestPerFrame } from './frames.ts';
import type { ProgressStore } from '../lessons/progress.ts';

/** Longest wait for the shell's first output after the VM is ready, before the editor loads anyway. */
const SHELL_OUTPUT_WAIT_MS = 1000;

export type BottomTab = 'terminal' | 'build' | 'images' | 'containers' | 'ports';
/** On a narrow window the panes take turns (App.svelte): the lesson, the editor, the bottom panel, the layer view. */
export type NarrowPane = 'lesson' | 'editor' | 'panels' | 'layers';
export type LayerSelection = { kind: 'layer'; index: number } | { kind: 'writable'; container: string } | null;

export interface Notice {
  id: number;
  kind: 'info' | 'error' | 'success';
  message: string;
}

export class AppState {
  readonly workspace = new Workspace();
  readonly editor = new EditorState();
  readonly terminal = new TerminalBridge();

  boot = $state<{ progress: BootProgress; error: BootError | null; done: boolean }>({
    progress: { step: 'Starting', value: 0 },
    error: null,
    done: false,
  });

  #settleVm: () => void = () => {};
  /**
   * Resolves once the VM's first start has ended, ready (and the shell's prompt is in the terminal, or
   * SHELL_OUTPUT_WAIT_MS passed) or failed: what the shell does not need (Monaco) loads after it.
   */
  readonly vmSettled = new Promise<void>((resolve) => (this.#settleVm = resolve));

  buildLog = $state.raw<BuildLogVM>({ state: 'idle', steps: [], progress: 0 });
  images = $state.raw<ImageRowVM[]>([]);
  /** Recent pulls and pushes with their progress (terminal or Images panel). */
  transfers = $state.raw<TransferVM[]>([]);
  containers = $state.raw<ContainerRowVM[]>([]);
  writable = $state.raw<WritableLayerVM[]>([]);
  /** Layers of images loaded so far, by image id. */
  imageDetails = $state.raw<Record<string, ImageVM>>({});

  selectedImageId = $state<string | null>(null);
  selection = $state<LayerSelection>(null);
  layerMode = $state<'changes' | 'merged'>('changes');
  /** Dockerfile line of the layer under the mouse in the layer view (highlights the editor line). */
  layerHoverLine = $state<number | null>(null);
  #bottomTab = $state<BottomTab>('terminal');
  get bottomTab(): BottomTab {
    return this.#bottomTab;
  }
  /** Choosing a tab of the bottom panel also brings that panel forward when the panes take turns. */
  set bottomTab(tab: BottomTab) {
    this.#bottomTab = tab;
    this.pane = 'panels';
  }
  /** The pane shown when the window is too narrow to show them side by side. */
  pane = $state<NarrowPane>('editor');
  bottomHeight = $state(260);
  /** The clock relative times ("2 minutes ago") are shown against; ticks every second. */
  now = $state(Date.now());
  #clock: ReturnType<typeof setInterval> | null = null;
  notices = $state<Notice[]>([]);

  selectedImage = $derived(this.selectedImageId ? (this.imageDetails[this.selectedImageId] ?? null) : null);
  /** Writable layers of containers created from the selected image. */
  selectedWritable = $derived(
    this.selectedImage ? this.writable.filter((w) => w.image === this.selectedImage!.id || this.selectedImage!.tags.includes(w.image)) : [],
  );
  building = $derived(this.buildLog.state === 'running');

  /** Panels, read-only, theme (fixed for the page's life). */
  readonly layout: AppLayout;

  #backend: Backend;
  #buildAbort: AbortController | null = null;
  #noticeId = 0;
  #unsubscribe: (() => void) | null = null;

  constructor(backend: Backend, layout: Partial<AppLayout> = {}) {
    this.#backend = backend;
    this.layout = resolveLayout(layout);
    // Embeds get their theme from the host page; the app follows the learner's choice.
    this.theme = new ThemeState(this.layout.embedded ? { fixed: this.layout.theme } : {});
    this.share = new ShareState({ workspace: this.workspace, notify: (m, k) => this.notify(m, k) });
  }

  readonly theme: ThemeState;
  /** Share links: making one, and the shared workspace open from one. */
  readonly share: ShareState;

  /** The lesson column is open. */
  lessonsOpen = $state(false);
  /** Ids of the containers that were there when the current lesson began. */
  lessonLeftovers = $state.raw<string[]>([]);

  /** Remove the containers that were there before the lesson began (and are still there). */
  async cleanUpForLesson(): Promise<void> {
    const leftovers = this.containers.filter((c) => this.lessonLeftovers.includes(c.id));
    await this.act('Clean up', async () => {
      for (const c of leftovers) await this.actions.rm(c.name, { force: true });
    });
    this.lessonLeftovers = [];
  }
  #engineListeners = new Set<() => void>();
  #lessonId: string | null = null;
  #followedImageId: string | null = null;

  get lessonsApi() {
    return this.#backend.lessons;
  }

  /** Called on every engine change (lesson checks re-run on these). */
  onEngineChange(listener: () => void): () => void {
    this.#engineListeners.add(listener);
    return () => this.#engineListeners.delete(listener);
  }

  /** Lesson progress, stored as a small record next to the workspaces. */
  progressStore(): ProgressStore {
    return {
      load: async () => {
        const snap = await this.#store?.load('lesson-progress');
        return snap?.files[0] ? JSON.parse(String(snap.files[0].content)) : null;
      },
      save: async (progress) => {
        await this.#store?.save({ files: [{ path: 'progress.json', content: JSON.stringify(progress) }], active: '', tag: '', savedAt: Date.now() }, 'lesson-progress');
      },
    };
  }

  async toggleLessons(): Promise<void> {
    this.lessonsOpen = !this.lessonsOpen;
    // Where the lesson is a pane of its own (a narrow window), opening the lessons shows it.
    if (this.lessonsOpen) this.pane = 'lesson';
    // Leaving the lessons brings back the free-play workspace.
    if (!this.lessonsOpen && this.#lessonId) {
      this.#lessonId = null;
      await this.workspace.switchTo('default', this.workspace.files);
    }
  }

  /** Each lesson works in its own workspace, started from the lesson's files. */
  async enterLesson(lesson: Lesson): Promise<void> {
    if (this.#lessonId === lesson.id) return;
    this.#lessonId = lesson.id;
    // Containers made before the lesson (free play, another lesson) count in its checks, as they do in
    // `docker ps -a`: the lesson column offers to remove them.
    this.lessonLeftovers = this.containers.map((c) => c.id);
    await this.workspace.switchTo(`lesson:${lesson.id}`, lesson.files.map((f) => ({ path: f.path, content: f.content })), lesson.image);
  }

  async resetLesson(lesson: Lesson, files: { path: string; content: string }[]): Promise<void> {
    this.workspace.replace(files.map((f) => ({ path: f.path, content: f.content })));
    if (lesson.image) this.workspace.setTag(lesson.image);
    void this.workspace.flush();
    await this.#backend.lessons?.reset();
    this.buildLog = { state: 'idle', steps: [], progress: 0 };
  }

  /**
   * "Back to the start of this step": the VM, images and containers go back; the learner's files stay,
   * and are written into the restored VM at once, so `cat Dockerfile` there shows what the editor shows.
   */
  async rewindStep(key: string): Promise<void> {
    await this.#backend.lessons?.rewind?.(key);
    this.#backend.syncWorkspace?.($state.snapshot(this.workspace.files) as WorkspaceFile[]);
    this.buildLog = { state: 'idle', steps: [], progress: 0 };
    this.editor.setBuildDecorations([]);
    // The restored shell printed its prompt before it was restored: ask for a fresh one.
    this.terminal.input('\r');
  }

  /** "Show solution": the solution's files over the workspace. */
  applyFiles(files: { path: string; content: string }[]): void {
    const byPath = new Map(this.workspace.files.map((f) => [f.path, f] as const));
    for (const f of files) byPath.set(f.path, { path: f.path, content: f.content });
    this.workspace.replace([...byPath.values()], this.workspace.active);
    // Save (and mirror into the VM) now: the learner's next command is likely `docker build`.
    void this.workspace.flush();
  }

  /** The editor is up, or could not load: the page has loaded what it shows (Backend.pageLoaded). */
  editorLoaded(): void {
    this.#backend.pageLoaded?.();
  }

  /**
   * A "Type it" button: the command goes to the terminal's prompt as if typed, not run (the learner presses
   * Enter; see commandLineFor).
   */
  typeInTerminal(text: string): void {
    this.bottomTab = 'terminal';
    this.terminal.input(commandLineFor(text));
  }

  get actions() {
    return this.#backend.actions;
  }

  #store: WorkspaceStore | null = null;

  async start(store: WorkspaceStore): Promise<void> {
    this.#store = store;
    this.#clock ??= setInterval(() => (this.now = Date.now()), 1000);
    await this.workspace.restore(store);
    if (store.kind === 'memory' && !this.layout.embedded) {
      this.notify('This browser is not letting Layerlab store data, so your work will not survive a reload.', 'error');
    }
    if (!this.layout.embedded) {
      // A share link opens into its own workspace; the learner's stays as it is.
      await this.share.openFromLocation();
      this.#stopShare = this.share.listen();
    }
    this.#unsubscribe = this.#backend.subscribe((view) => this.#onView(view));
    void this.startVm();
  }

  async startVm(): Promise<void> {
    const missing = missingBrowserFeature();
    if (missing && missing.kind === 'unsupported-browser') {
      this.boot = { ...this.boot, error: missing };
      this.#settleVm();
      return;
    }
    this.boot = { progress: { step: 'Starting', value: 0 }, error: null, done: false };
    try {
      await this.#backend.boot({
        onProgress: (progress) => (this.boot = { ...this.boot, progress }),
        signal: new AbortController().signal,
      });
      this.#backend.connectTerminal(this.terminal);
      this.#backend.onVmEvent?.((event) => {
        this.notify(event.message, event.kind === 'restarted' ? 'success' : 'error'); // warnings stay up as long as errors
        if (event.kind === 'restarted') this.terminal.write('\r\n[Layerlab: the VM was restarted from its snapshot]\r\n');
      });
      // One update per frame, as the button's builds have.
      const terminalLog = latestPerFrame<BuildLogVM>((log) => {
        if (!this.#buildAbort) this.buildLog = log;
      });
      this.#backend.onTerminalBuild?.((update) => {
        // The button's own build owns the log while it runs (`building` would also be true for the terminal's
        // build once its first update is shown, and would drop all the rest).
        if (this.#buildAbort) return;
        if (!update.finished) return terminalLog.push(update.log);
        terminalLog.drop();
        this.buildLog = update.log;
        const dockerfile = this.workspace.dockerfile;
        const text = typeof dockerfile?.content === 'string' ? dockerfile.content : '';
        this.editor.setBuildDecorations(update.decorations, dockerfile ? { path: dockerfile.path, text } : null);
      });
      if (this.#backend.syncWorkspace) {
        const sync = this.#backend.syncWorkspace.bind(this.#backend);
        this.workspace.onSaved = sync;
        sync($state.snapshot(this.workspace.files) as WorkspaceFile[]);
      }
      this.boot = { ...this.boot, done: true, progress: { step: 'Ready', value: 1 } };
      await Promise.race([this.terminal.firstOutput, new Promise((resolve) => setTimeout(resolve, SHELL_OUTPUT_WAIT_MS))]);
    } catch (e) {
      const error = e instanceof BootError ? e : new BootError('crashed', (e as Error)?.message ?? String(e));
      this.boot = { ...this.boot, error };
    } finally {
      this.#settleVm();
    }
  }

  #onView(view: EngineView): void {
    for (const listener of this.#engineListeners) listener();
    this.images = view.images;
    this.transfers = view.transfers ?? [];
    this.containers = view.containers;
    this.writable = view.writable;
    if (this.selectedImageId && !view.images.some((i) => i.id === this.selectedImageId)) this.selectedImageId = null;
    // The layer view follows the workspace's image: when `docker build -t <tag>` (button or terminal)
    // makes a new one, it is shown.
    const wanted = view.images.find((i) => i.tags.includes(`${this.workspace.tag}:latest`));
    if (wanted && wanted.id !== this.#followedImageId) {
      this.#followedImageId = wanted.id;
      this.selectImage(wanted.id);
    } else if (!this.selectedImageId && view.images.length > 0) {
      this.selectImage(view.images[0].id);
    }
    if (this.selection?.kind === 'writable' && !view.writable.some((w) => w.containerName === (this.selection as { container: string }).container)) {
      this.selection = null;
    }
  }

  async selectImage(id: string, options: { refresh?: boolean } = {}, attempt = 0): Promise<void> {
    if (this.selectedImageId !== id) this.selection = null;
    this.selectedImageId = id;
    try {
      const image = this.imageDetails[id] && !options.refresh ? this.imageDetails[id] : await this.#backend.getImage(id);
      if (image) this.imageDetails = { ...this.imageDetails, [id]: image };
      else if (this.selectedImageId === id && this.images.some((i) => i.id === id) && attempt < 5) {
        // Listed but not readable yet (the engine is still starting): ask again shortly, so the picker
        // and the picture never disagree for long.
        setTimeout(() => {
          if (this.selectedImageId === id && !this.imageDetails[id]) void this.selectImage(id, {}, attempt + 1);
        }, 800);
      }
      // Start with the topmost filesystem layer selected, so its files are on screen.
      if (image && this.selection === null && this.selectedImageId === id) {
        const top = [...image.layers].reverse().find((l) => !l.emptyLayer);
        if (top) this.selection = { kind: 'layer', index: top.index };
      }
    } catch (e) {
      this.notify(`Could not read the image's layers: ${(e as Error).message}`, 'error');
    }
  }

  /** The merged view up to one layer of an image, from the engine (nothing when it cannot be read). */
  async imageFiles(image: ImageVM, layer: number): Promise<MergedNodeVM[]> {
    try {
      return await this.#backend.getImageFiles({ image, layer });
    } catch (e) {
      this.notify(`Could not read the files up to layer ${layer}: ${(e as Error).message}`, 'error');
      return [];
    }
  }

  selectLayer(index: number | null): void {
    this.selection = index === null ? null : { kind: 'layer', index };
    const layer = index === null ? null : this.selectedImage?.layers.find((l) => l.index === index);
    if (layer?.line) this.editor.revealLine(layer.line);
  }

  selectWritable(container: string): void {
    this.selection = { kind: 'writable', container };
  }

  /** A Dockerfile line was clicked in the editor or build log: select the layer it made. */
  selectLine(line: number, options: { reveal?: boolean } = {}): void {
    const layer = this.selectedImage?.layers.find((l) => l.line === line && !l.base);
    if (layer) this.selection = { kind: 'layer', index: layer.index };
    if (options.reveal) {
      if (this.workspace.active !== 'Dockerfile' && this.workspace.get('Dockerfile')) this.workspace.open('Dockerfile');
      this.editor.revealLine(line);
    }
  }

  async build(): Promise<void> {
    if (this.building) return;
    const dockerfile = this.workspace.dockerfile;
    if (!dockerfile) {
      this.notify('There is no Dockerfile in the workspace. Create one named "Dockerfile" to build.', 'error');
      return;
    }
    const tag = this.workspace.tag.trim() || 'app';
    if (!/^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/.test(tag)) {
      this.notify(`"${tag}" is not a valid image tag: use lowercase letters, digits, . _ - / and an optional :tag.`, 'error');
      return;
    }
    void this.workspace.flush();
    const built = { path: dockerfile.path, text: typeof dockerfile.content === 'string' ? dockerfile.content : '' };
    this.bottomTab = 'build';
    this.#buildAbort = new AbortController();
    this.buildLog = { state: 'running', steps: [], progress: 0 };
    const buildLog = latestPerFrame<BuildLogVM>((log) => (this.buildLog = log));
    try {
      const result = await this.#backend.build({
        files: this.workspace.files,
        dockerfile: dockerfile.path,
        tag,
        signal: this.#buildAbort.signal,
        onLog: (log) => buildLog.push(log),
      });
      buildLog.flush();
      this.editor.setBuildDecorations(result.decorations, built);
      this.editor.setLints(result.lints);
      if (result.ok && result.imageId) {
        this.selection = null;
        await this.selectImage(result.imageId, { refresh: true });
      } else if (!result.ok) {
        this.buildLog = { ...this.buildLog, state: 'failed', error: result.error ?? this.buildLog.error };
        const failed = result.lints.find((l) => l.severity === 'error');
        if (failed) this.editor.revealLine(failed.line);
      }
    } catch (e) {
      buildLog.flush();
      const aborted = this.#buildAbort?.signal.aborted;
      this.buildLog = { ...this.buildLog, state: aborted ? 'cancelled' : 'failed', error: aborted ? 'Build cancelled.' : (e as Error).message };
    } finally {
      this.#buildAbort = null;
    }
  }

  cancelBuild(): void {
    this.#buildAbort?.abort();
  }

  /** Run an action from a panel button; failures become a notice, never an uncaught error. */
  async act(label: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.notify(`${label} failed: ${(e as Error).message}`, 'error');
    }
  }

  notify(message: string, kind: Notice['kind'] = 'info'): void {
    const id = ++this.#noticeId;
    this.notices = [...this.notices, { id, kind, message }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 9000 : 4000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  #stopShare: (() => void) | null = null;

  destroy(): void {
    this.#stopShare?.();
    if (this.#clock) clearInterval(this.#clock);
    this.#unsubscribe?.();
    this.cancelBuild();
  }
}
