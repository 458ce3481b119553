/** Engine figures: Dockerfile builds (uncached, cached), `docker run` typed in the guest, the writable-layer feed. */
import { openNodeEngine } from '../src/host/node.ts';
import type { ContextEntry } from '../src/engine/dockerfile/index.ts';
import type { ChangeEvent } from '../src/engine/api.ts';
import { median, round, time } from './stats';

const DOCKERFILE = ['FROM busybox', 'RUN echo one > /one.txt', 'COPY app.sh /app/app.sh', 'RUN chmod +x /app/app.sh && /app/app.sh > /ran.txt', 'CMD ["/app/app.sh"]'].join('\n');
const CONTEXT: ContextEntry[] = [{ path: 'app.sh', mode: 0o100755, data: new TextEncoder().encode('#!/bin/sh\necho hello\n') }];

export async function benchEngine(): Promise<Record<string, number | null | string>> {
  const results: Record<string, number | null | string> = {};
  const { engine, machine, close } = await openNodeEngine();
  try {
    // Builds: a 4-step busybox Dockerfile (2 RUN, 1 COPY, 1 CMD); 3 warm-up builds, then medians of 10.
    const build = (noCache: boolean) => engine.build({ dockerfile: DOCKERFILE, context: CONTEXT, tags: ['bench'], noCache });
    for (let i = 0; i < 3; i++) await build(true);
    const uncached: number[] = [];
    for (let i = 0; i < 10; i++) uncached.push((await time(() => build(true)))[0]);
    const cached: number[] = [];
    for (let i = 0; i < 10; i++) cached.push((await time(() => build(false)))[0]);
    results['build.uncached_ms'] = round(median(uncached));
    results['build.cached_ms'] = round(median(cached));

    // `docker run --rm busybox echo hi` typed in the guest shell, until its output is back on the terminal.
    let serial = '';
    machine.onSerial((bytes) => (serial += new TextDecoder().decode(bytes)));
    machine.writeSerial('stty -echo\n');
    const instructions: number[] = [];
    const typed = async (n: number) => {
      const marker = `__E${n}_`;
      serial = '';
      const counted = machine.instructionCounter;
      const started = performance.now();
      machine.writeSerial(`docker run --rm busybox echo hi; echo "__E${n}_$?__"\n`);
      while (!serial.includes(`${marker}0__`)) {
        if (serial.includes(marker)) throw new Error(`docker run failed in the guest: ${serial}`);
        if (performance.now() - started > 30_000) throw new Error(`no answer from docker run in the guest: ${serial}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      if (!serial.includes('hi')) throw new Error(`unexpected output: ${serial}`);
      instructions.push(((machine.instructionCounter - counted) >>> 0) / 1e6);
      return performance.now() - started;
    };
    const cli: number[] = [];
    for (let i = 0; i < 15; i++) cli.push(await typed(i));
    results['run.docker_cli_echo_ms'] = round(median(cli.slice(5)));
    // The same runs in guest instructions (millions): the guest's work, free of the host's timing noise.
    results['run.docker_cli_echo_minstr'] = round(median(instructions.slice(5)));

    // The writable-layer feed: a container touches a file when told; time until the feed reports it.
    const container = await engine.run({
      image: 'busybox',
      name: 'feed-bench',
      detach: true,
      command: ['sh', '-c', 'while true; do if [ -e /go ]; then touch /tmp/feed-$(cat /go); rm /go; fi; usleep 10000; done'],
    });
    const latencies: number[] = [];
    for (let i = 0; i < 12; i++) {
      const path = `/tmp/feed-${i}`;
      const seen = new Promise<number>((resolve) => {
        const off = engine.subscribe((event: ChangeEvent) => {
          if (event.type === 'writable' && event.entries.some((e) => e.path === path)) {
            off();
            resolve(performance.now());
          }
        });
      });
      const started = performance.now();
      await machine.request('write', { path: `/var/lib/layerlab/containers/${container.id}/rootfs/go`, data: btoa(String(i)) });
      latencies.push((await seen) - started);
    }
    results['layer.feed_latency_ms'] = round(median(latencies.slice(2)));
    await engine.rm({ container: 'feed-bench', force: true });
  } finally {
    await close();
  }
  return results;
}
