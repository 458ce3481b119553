// The demo page's use of the embed API: methods on the element, events as `layerlab:<type>`.
type Sandbox = HTMLElement & { setFiles(files: Record<string, string>): Promise<void>; build(): Promise<void> };
type BuildFinished = { ok: boolean; seconds: number | null; error: string | null; cachedSteps: number; builtSteps: number; layers: { empty: boolean }[] };

const cache = document.getElementById('cache') as Sandbox;
const out = document.getElementById('cache-out')!;
let version = 1;

cache.addEventListener('layerlab:build-started', () => (out.textContent = 'building…'));
cache.addEventListener('layerlab:build-finished', (e) => {
  const d = (e as CustomEvent<BuildFinished>).detail;
  const b = document.createElement('b');
  b.textContent = d.ok ? `built in ${d.seconds?.toFixed(1)} s` : `build failed: ${d.error}`;
  out.replaceChildren(b, ` — ${d.cachedSteps} step(s) from cache, ${d.builtSteps} rebuilt, ${d.layers.filter((l) => !l.empty).length} layers`);
});
document.getElementById('rebuild')!.addEventListener('click', async () => {
  version += 1;
  out.textContent = 'sending app.sh…';
  try {
    await cache.setFiles({ 'app.sh': `echo "version ${version}"\n` });
    await cache.build();
  } catch (error) {
    out.textContent = `failed: ${(error as Error).message}`;
  }
});
