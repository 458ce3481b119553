// Lint: TypeScript's recommended rules, plus the module boundaries the architecture depends on.
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';

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
);

function boundaries() {
  /** Package → where it may be imported. */
  const homes = {
    v86: { files: ['src/vm/**'], where: 'src/vm/' },
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
