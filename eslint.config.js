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
  {
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [only('v86', 'src/vm/'), only('monaco-editor', 'src/ui/editor/'), only('@xterm/xterm', 'src/ui/terminal/'), { group: ['svelte', 'svelte/*'], message: 'The engine has no UI dependency.' }] }],
    },
  },
);
