// The app on the real engine and VM (in a worker). `?backend=fake` runs it on fixtures instead, for
// UI work without a VM build (and the UI-only browser tests): see src/ui/fake/.
import './early.ts';
import { mountApp, type Backend } from './ui/index.ts';
import { startPreviewRelay } from './preview/relay.ts';

const params = new URLSearchParams(location.search);

async function createBackend(): Promise<Backend> {
  if (params.get('backend') === 'fake') {
    const { createFakeBackend } = await import('./ui/fake/backend.ts');
    return createFakeBackend({
      failBoot: params.get('boot') === 'fail',
      bootStepMs: params.get('boot') === 'slow' ? 3000 : 300,
      fixtures: params.get('fixtures') !== '0',
      stepMs: Number(params.get('stepMs') ?? 250),
      lessons: params.get('lessons') === '1',
      slowImages: Number(params.get('slowImages') ?? 0),
    });
  }
  const { createBrowserBackend } = await import('./host/browser-backend.ts');
  const backend = createBrowserBackend();
  // Browser tests reach into the backend (e.g. to hang the VM and watch the watchdog) only with this flag.
  if (params.has('test-hooks')) (window as unknown as { __layerlabBackend: unknown }).__layerlabBackend = backend;
  return backend;
}

const target = document.getElementById('app')!;
createBackend()
  .then((backend) => {
    // Published ports open in the Ports panel's preview and in new tabs, through a Service Worker.
    if (backend.fetchPort) startPreviewRelay((request) => backend.fetchPort!(request));
    return mountApp(target, { backend });
  })
  .catch((e: unknown) => {
    // Never a blank page: say what happened.
    target.innerHTML = '';
    const p = document.createElement('p');
    p.style.cssText = 'font: 14px system-ui; padding: 2rem; color: #a93434';
    p.textContent = `Layerlab could not start: ${(e as Error)?.message ?? e}. Your saved files are untouched; reload to try again.`;
    target.append(p);
  });
