/**
 * The learner's workspace in IndexedDB (the only importer of `idb` in the UI; the engine has its own
 * store). One record per workspace id, written whole: workspaces are small (files over 5 MB are refused
 * on drop) and a whole-record write can't leave half a workspace behind.
 */
import { openDB, type IDBPDatabase } from 'idb';
import { fromBase64, toBase64 } from '../../engine/util/base64.ts';
import type { WorkspaceFile } from '../workspace/files.ts';

export interface WorkspaceSnapshot {
  files: WorkspaceFile[];
  /** Path of the file open in the editor. */
  active: string;
  /** Image tag in the top bar. */
  tag: string;
  savedAt: number;
}

export interface WorkspaceStore {
  load(id?: string): Promise<WorkspaceSnapshot | null>;
  save(snapshot: WorkspaceSnapshot, id?: string): Promise<void>;
  /** Where the data lives, for messages ("saved in this browser"). */
  readonly kind: 'indexeddb' | 'localstorage' | 'memory';
}

const DB = 'layerlab-ui';
const STORE = 'workspaces';
const FALLBACK_KEY = 'layerlab:workspace:';

export class PersistError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'PersistError';
  }
}

class IdbStore implements WorkspaceStore {
  readonly kind = 'indexeddb' as const;
  constructor(private db: IDBPDatabase) {}
  async load(id = 'default') {
    return ((await this.db.get(STORE, id)) as WorkspaceSnapshot | undefined) ?? null;
  }
  async save(snapshot: WorkspaceSnapshot, id = 'default') {
    await this.db.put(STORE, snapshot, id);
  }
}

/** Text-only fallback when IndexedDB is unavailable (e.g. some private modes). Binary files are base64. */
class LocalStore implements WorkspaceStore {
  readonly kind = 'localstorage' as const;
  constructor(private prefix: string) {}
  async load(id = 'default') {
    const raw = localStorage.getItem(this.prefix + id);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Omit<WorkspaceSnapshot, 'files'> & { files: { path: string; content: string; b64?: boolean }[] };
    return {
      ...parsed,
      files: parsed.files.map((f) => ({ path: f.path, content: f.b64 ? fromBase64(f.content) : f.content })),
    };
  }
  async save(snapshot: WorkspaceSnapshot, id = 'default') {
    const files: { path: string; content: string; b64?: boolean }[] = snapshot.files.map((f) =>
      typeof f.content === 'string' ? { path: f.path, content: f.content } : { path: f.path, content: toBase64(f.content), b64: true },
    );
    try {
      localStorage.setItem(this.prefix + id, JSON.stringify({ ...snapshot, files }));
    } catch (e) {
      throw new PersistError('The browser refused to store the workspace (storage full?).', e);
    }
  }
}

class MemoryStore implements WorkspaceStore {
  readonly kind = 'memory' as const;
  #data = new Map<string, WorkspaceSnapshot>();
  async load(id = 'default') {
    return this.#data.get(id) ?? null;
  }
  async save(snapshot: WorkspaceSnapshot, id = 'default') {
    this.#data.set(id, structuredClone(snapshot));
  }
}


/** The database name for a storage namespace: the main app's is unchanged, each embed gets its own. */
export function workspaceDbName(namespace?: string): string {
  return namespace ? `${DB}@${namespace}` : DB;
}

/**
 * IndexedDB when possible, else localStorage, else memory (the UI then warns that work is not kept).
 * `namespace` keeps one app's workspace apart from another's on the same origin (each embed has one);
 * `memory` keeps nothing (an embed that cannot tell who embeds it).
 */
export async function openWorkspaceStore(options: { namespace?: string; memory?: boolean } = {}): Promise<WorkspaceStore> {
  if (options.memory) return new MemoryStore();
  const prefix = options.namespace ? `${FALLBACK_KEY}${options.namespace}:` : FALLBACK_KEY;
  try {
    if (typeof indexedDB === 'undefined') throw new Error('no IndexedDB');
    const db = await openDB(workspaceDbName(options.namespace), 1, {
      upgrade(db) {
        db.createObjectStore(STORE);
      },
    });
    return new IdbStore(db);
  } catch {
    try {
      localStorage.setItem(prefix + 'probe', '1');
      localStorage.removeItem(prefix + 'probe');
      return new LocalStore(prefix);
    } catch {
      return new MemoryStore();
    }
  }
}
