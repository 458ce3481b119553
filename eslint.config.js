// Lint: TypeScript's recommended rules, plus the module boundaries the architecture depends on.
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import importX from 'eslint-plugin-import-x';

const only = (pkg, where) => ({
  group: [pkg, `${pkg}/*`],
  message: `${pkg} is imported only in ${where} (one importing folder per heavy dependency).`,
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'public/vm/**', 'test-results/**', 'playwright-report/**', 'vm/.cache/**', 'bin/**'] },
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  { files: ['**/*.svelte', '**/*.svelte.ts'], languageOptions: { parserOptions: { parser: tseslint.parser } } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'svelte/no-at-html-tags': 'off', // lesson Markdown is sanitized with DOMPurify before {@html}
      // State holds Sets and Maps that are replaced whole, never mutated in place: plain ones are right.
      'svelte/prefer-svelte-reactivity': 'off',
    },
  },
  // Each heavy dependency is imported in one place; the engine also has no UI dependency. In flat config the
  // last block matching a file sets its rule, so the general blocks come first and the allowed places after.
  ...boundaries(),
  layering(),
);

function boundaries() {
  /** Package → where it may be imported. */
  const homes = {
    v86: { files: ['src/machine/**'], where: 'src/machine/' },
    'monaco-editor': { files: ['src/ui/editor/**'], where: 'src/ui/editor/' },
    '@xterm/xterm': { files: ['src/ui/terminal/**'], where: 'src/ui/terminal/' },
    idb: { files: ['src/engine/store/idb.ts', 'src/ui/persist/**'], where: 'the store adapter (src/engine/store/idb.ts) and src/ui/persist/' },
    // The editor's language service (dockerfile-language-service) is built on the same parser.
    'dockerfile-ast': { files: ['src/engine/dockerfile/**', 'src/ui/editor/**'], where: 'src/engine/dockerfile/ and the editor (src/ui/editor/)' },
    // Tests use it as an independent tar implementation to check ours against.
    'modern-tar': { files: ['src/engine/archive/**', '**/*.test.ts'], where: 'src/engine/archive/ (and tests)' },
  };
  const noUi = { group: ['svelte', 'svelte/*'], message: 'The engine has no UI dependency.' };
  const code = ['src/**/*.ts', 'src/**/*.svelte', 'bench/**/*.ts', 'scripts/**/*.ts', 'vm/**/*.ts'];
  const rule = (allowed, engine) => ({
    'no-restricted-imports': [
      'error',
      { patterns: [...Object.entries(homes).filter(([pkg]) => !allowed.includes(pkg)).map(([pkg, home]) => only(pkg, home.where)), ...(engine ? [noUi] : [])] },
    ],
  });
  const blocks = [
    { files: code, rules: rule([], false) },
    { files: ['src/engine/**/*.ts'], rules: rule([], true) },
  ];
  for (const [pkg, home] of Object.entries(homes)) {
    blocks.push({ files: home.files.filter((f) => !f.startsWith('src/engine/')), rules: rule([pkg], false) });
    const engineFiles = home.files.filter((f) => f.startsWith('src/engine/'));
    if (engineFiles.length) blocks.push({ files: engineFiles, rules: rule([pkg], true) });
  }
  // src/ui/editor/ holds both monaco-editor and dockerfile-ast; tests anywhere may use modern-tar.
  blocks.push({ files: ['src/ui/editor/**'], rules: rule(['monaco-editor', 'dockerfile-ast'], false) });
  blocks.push({ files: ['**/*.test.ts'], ignores: ['src/engine/**'], rules: rule(['modern-tar'], false) });
  blocks.push({ files: ['src/engine/**/*.test.ts'], rules: rule(['modern-tar'], true) });
  return blocks.filter((block) => block.files.length);
}

/**
 * Which top-level folders of src/ each folder may import, bottom up. The engine stands alone; the docker
 * client, the UI and the pages' helpers see only the engine's public module (index.ts, api.ts, util/); the
 * VM driver and the lessons also see the guest contract; src/process (host programs, Node only) stands
 * alone. The composition roots (host, cli, embed and the page's main.ts) wire the pieces. Tests compose freely.
 */
function layering() {
  const PUBLIC_ENGINE = ['./index.ts', './api.ts', './util'];
  const GUEST_CONTRACT = [...PUBLIC_ENGINE, './guest.ts', './guest-protocol.ts', './guest-spawn.ts'];
  /** folder → [folders it may import, and how much of the engine it sees ('all' or the files it may import)] */
  const table = {
    engine: { uses: [], engine: 'all' },
    // Running host programs (Node only): for the CLI, and outside src/ for the benchmark, tests and build scripts.
    process: { uses: [], engine: [] },
    client: { uses: [], engine: PUBLIC_ENGINE },
    machine: { uses: [], engine: GUEST_CONTRACT },
    lessons: { uses: ['client'], engine: GUEST_CONTRACT },
    preview: { uses: [], engine: PUBLIC_ENGINE },
    ui: { uses: ['client', 'lessons'], engine: PUBLIC_ENGINE },
    server: { uses: ['ui', 'preview'], engine: PUBLIC_ENGINE },
    embed: { uses: ['ui', 'preview', 'lessons', 'client', 'host'], engine: PUBLIC_ENGINE },
    host: { uses: ['client', 'machine', 'lessons', 'ui', 'server', 'preview'], engine: 'all' },
    cli: { uses: ['client', 'machine', 'lessons', 'host', 'server', 'preview', 'process'], engine: 'all' },
  };
  const folders = Object.keys(table);
  const zones = [];
  for (const [folder, { uses, engine }] of Object.entries(table)) {
    const target = `./src/${folder}`;
    for (const other of folders) {
      if (other === folder || uses.includes(other)) continue;
      if (other === 'engine') {
        if (engine === 'all') continue;
        zones.push({ target, from: './src/engine', except: engine, message: `src/${folder}/ sees only the engine's public module (${engine.join(', ')} under src/engine/).` });
      } else {
        zones.push({ target, from: `./src/${other}`, message: `src/${folder}/ does not import src/${other}/ (see layering() in eslint.config.js).` });
      }
    }
  }
  return {
    files: ['src/**/*.ts', 'src/**/*.svelte'],
    ignores: ['**/*.test.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js', '.svelte'] } } },
    rules: { 'import-x/no-restricted-paths': ['error', { zones }] },
  };
}
