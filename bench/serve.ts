/**
 * The production build served by the production server (`npm run serve`, src/server/main.ts), for the
 * benchmark sections that measure the app as deployed: hashed assets are cached for good there, as any
 * static host or CDN serves them (`vite preview` asks the browser to revalidate every file on each load).
 */
import { execFileSync } from 'node:child_process';
import { answers, RunningServer } from '../src/process/server.ts';

/** Builds the app and serves it on `port` (127.0.0.1 only); stop the result when done. */
export async function startProductionServer(port: number): Promise<RunningServer> {
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
  return RunningServer.start('npx', ['tsx', 'src/server/main.ts'], {
    name: 'npm run serve',
    output: 'ignore',
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    ready: answers(`http://127.0.0.1:${port}/`),
    timeoutMs: 20_000,
    pollMs: 200,
  });
}
