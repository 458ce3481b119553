/**
 * Light or dark: the learner's choice (light / dark / auto = follow the system), kept in localStorage.
 * An embed gets a fixed theme from its host page instead and stores nothing.
 */
export type ThemeChoice = 'light' | 'dark' | 'auto';
export type Theme = 'light' | 'dark';

const KEY = 'layerlab:theme';

export class ThemeState {
  #fixed: Theme | null = null;
  choice = $state<ThemeChoice>('auto');
  /** Whether the system prefers dark (tracked live). */
  systemDark = $state(false);
  /** The theme in effect. */
  effective: Theme = $derived(this.#fixed ?? (this.choice === 'auto' ? (this.systemDark ? 'dark' : 'light') : this.choice));
  /** False when the theme is set by the host page (embeds): no toggle. */
  readonly choosable: boolean;

  #storage: Pick<Storage, 'getItem' | 'setItem'> | null;

  constructor(options: { fixed?: Theme; storage?: Pick<Storage, 'getItem' | 'setItem'> | null; media?: MediaQueryList | null } = {}) {
    this.#fixed = options.fixed ?? null;
    this.choosable = !options.fixed;
    this.#storage = options.fixed ? null : options.storage !== undefined ? options.storage : safeLocalStorage();
    const saved = this.#read();
    if (saved) this.choice = saved;
    const media = options.media !== undefined ? options.media : typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
    if (media) {
      this.systemDark = media.matches;
      media.addEventListener?.('change', (e) => (this.systemDark = e.matches));
    }
  }

  set(choice: ThemeChoice): void {
    this.choice = choice;
    try {
      this.#storage?.setItem(KEY, choice);
    } catch {
      // Storage refused (private mode, quota): the choice still holds for this page.
    }
  }

  #read(): ThemeChoice | null {
    try {
      const v = this.#storage?.getItem(KEY);
      return v === 'light' || v === 'dark' || v === 'auto' ? v : null;
    } catch {
      return null;
    }
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
