import { defineConfig } from 'vitest/config';

// Two projects: `unit` (pure code, fast) and `vm` (boots the real guest under Node; slow). VM test files
// run two at a time: each VM is one busy thread, so a second file uses the second core.
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
    ],
  },
});
