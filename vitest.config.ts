import { defineConfig } from 'vitest/config';

// Three projects: `unit` (pure code, fast), `vm` (boots the real guest under Node; slow; two files at a time:
// each VM is one busy thread, so a second file uses the second core) and `differential` (the builder against
// real Docker).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'vm/**/*.test.ts', 'lessons/**/*.test.ts'],
          exclude: ['**/*.vm.test.ts', 'node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'vm',
          include: ['src/**/*.vm.test.ts', 'test/**/*.vm.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          maxWorkers: 2,
        },
      },
      {
        // Layerlab's builder against Debian's dockerd (root; see test/differential/).
        test: {
          name: 'differential',
          include: ['test/differential/**/*.test.ts'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
