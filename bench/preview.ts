/** The production build served by `vite preview`, for the benchmark sections that measure the app as deployed. */
import { execFileSync } from 'node:child_process';
import { answers, RunningServer } from '../src/process/server.ts';

/** Builds the app and serves it on `port`; stop the result when done. */
export async function startPreview(port: number): Promise<RunningServer> {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
  return RunningServer.start('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], {
    name: 'vite preview',
    output: 'ignore',
    detached: true,
    ready: answers(`http://localhost:${port}/`),
    timeoutMs: 20_000,
    pollMs: 200,
  });
}
