// Until the engine and VM are wired in, the app runs on the fake backend (src/ui/fake/).
// URL flags for trying states by hand: ?boot=fail (asset error), ?boot=slow, ?fixtures=0.
import { mountApp } from './ui/index.ts';
import { createFakeBackend } from './ui/fake/backend.ts';

const params = new URLSearchParams(location.search);
const backend = createFakeBackend({
  failBoot: params.get('boot') === 'fail',
  bootStepMs: params.get('boot') === 'slow' ? 3000 : 300,
  fixtures: params.get('fixtures') !== '0',
  stepMs: Number(params.get('stepMs') ?? 250),
});

const target = document.getElementById('app')!;
mountApp(target, { backend }).catch((e: unknown) => {
  // Never a blank page: say what happened.
  target.innerHTML = '';
  const p = document.createElement('p');
  p.style.cssText = 'font: 14px system-ui; padding: 2rem; color: #a93434';
  p.textContent = `Layerlab could not start: ${(e as Error)?.message ?? e}. Your saved files are untouched; reload to try again.`;
  target.append(p);
});
