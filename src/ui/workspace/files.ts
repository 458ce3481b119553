/** Workspace files: the build context the learner edits. Pure helpers, no DOM. */

export interface WorkspaceFile {
  /** Relative path in the build context, `/`-separated, e.g. `Dockerfile`, `src/app.py`. */
  path: string;
  /** Text files are strings; anything that is not valid UTF-8 (or holds NUL bytes) stays bytes. */
  content: string | Uint8Array;
}

/** Files larger than this are refused when dropped into the workspace. */
export const MAX_DROP_BYTES = 5 * 1024 * 1024;
/** Text files larger than this are kept but not opened in the editor (Monaco gets slow). */
export const MAX_EDIT_BYTES = 1024 * 1024;

export class WorkspaceError extends Error {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

export function fileSize(file: WorkspaceFile): number {
  return typeof file.content === 'string' ? new TextEncoder().encode(file.content).length : file.content.length;
}

/** Decode bytes as text when they look like text (valid UTF-8, no NUL); otherwise keep the bytes. */
export function decodeIfText(bytes: Uint8Array): string | Uint8Array {
  if (bytes.subarray(0, 8000).includes(0)) return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes;
  }
}

/** Why a file cannot be opened in the editor, or null when it can. */
export function editorRefusal(file: WorkspaceFile): string | null {
  if (typeof file.content !== 'string') {
    return `${file.path} is a binary file (${file.content.length.toLocaleString()} bytes). It stays in the build context, but the editor only opens text.`;
  }
  const size = fileSize(file);
  if (size > MAX_EDIT_BYTES) {
    return `${file.path} is ${(size / 1024 / 1024).toFixed(1)} MB, too large to edit here. It stays in the build context.`;
  }
  return null;
}

/** Check a path the learner typed; returns it normalized or throws WorkspaceError with a reason. */
export function checkPath(raw: string, existing: Iterable<string>, renaming?: string): string {
  const path = raw.trim().replace(/\\/g, '/').replace(/^\.\/+/, '').replace(/\/+/g, '/');
  if (!path) throw new WorkspaceError('A file needs a name.');
  if (path.startsWith('/')) throw new WorkspaceError('Use a path inside the build context (no leading /).', path);
  if (path.endsWith('/')) throw new WorkspaceError('A file name cannot end with /.', path);
  if (path.split('/').some((p) => p === '..' || p === '.'))
    throw new WorkspaceError('Paths cannot contain . or .. parts: the build context is a closed folder.', path);
  if (path.length > 255) throw new WorkspaceError('That path is longer than 255 characters.', path);
  for (const other of existing) {
    if (other === renaming) continue;
    if (other === path) throw new WorkspaceError(`${path} already exists.`, path);
    if (other.startsWith(path + '/')) throw new WorkspaceError(`${path} is a folder here.`, path);
    if (path.startsWith(other + '/')) throw new WorkspaceError(`${other} is a file, so it cannot hold ${path}.`, path);
  }
  return path;
}

/** Monaco language id for a path. */
export function languageOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (/^(Dockerfile|Containerfile)(\..*)?$/i.test(name) || name.endsWith('.dockerfile')) return 'dockerfile';
  if (name === '.dockerignore' || name === '.gitignore') return 'ignore';
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1).toLowerCase() : '';
  const map: Record<string, string> = {
    sh: 'shell', bash: 'shell', py: 'python', js: 'javascript', mjs: 'javascript', ts: 'typescript',
    json: 'json', md: 'markdown', html: 'html', css: 'css', yml: 'yaml', yaml: 'yaml', txt: 'plaintext',
  };
  return map[ext] ?? 'plaintext';
}

export const DEFAULT_FILES: WorkspaceFile[] = [
  {
    path: 'Dockerfile',
    content: `FROM busybox
WORKDIR /app
COPY hello.sh .
RUN chmod +x hello.sh && echo "built" > built.txt
CMD ["./hello.sh"]
`,
  },
  {
    path: 'hello.sh',
    content: `#!/bin/sh
# Runs when a container starts from this image.
echo "Hello from a container!"
echo "I am $(hostname), running as $(whoami)."
`,
  },
  {
    path: '.dockerignore',
    content: `# Files the build never sees (like .gitignore, for the build context)
*.log
secrets/
`,
  },
];
