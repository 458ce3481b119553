/**
 * The build log as the UI shows it, reduced from the engine's BuildEvents (src/engine/build/events.ts).
 * The real backend (src/host/browser-backend.ts) and the fake one (src/ui/fake/backend.ts) both feed
 * events through this one reducer, so the UI tests exercise the log the app shows.
 */
import type { BuildEvent } from '../../engine/index.ts';
import { LineTail } from '../../engine/util/tail.ts';
import type { BuildDecoration } from '../editor/types.ts';
import { applyTransfer, newTransfer, type TransferVM } from './pulls.ts';
import type { BuildLogVM, BuildStepVM } from './types.ts';

/** Output lines kept per build step; earlier ones are counted and dropped. */
export const STEP_OUTPUT_LINES = 2000;

/** BuildEvents → the build log panel's model and the editor's per-line decorations. */
export class BuildLog {
  #steps: BuildStepVM[] = [];
  #output = new Map<BuildStepVM, LineTail>();
  #byN = new Map<number, BuildStepVM>();
  #decorations = new Map<number, BuildDecoration>();
  #state: BuildLogVM['state'] = 'running';
  #total = 1;
  #done = 0;
  #imageId?: string;
  #seconds?: number;
  #error?: string;
  #started = performance.now();
  #pulls: TransferVM[] = [];
  #stagesShown = new Set<string>();

  #showFrom(step: BuildEvent & { type: 'step-start' }): void {
    const key = step.step.stage || '';
    if (this.#stagesShown.has(key)) return;
    this.#stagesShown.add(key);
    // The `[1/N] FROM …` step of each stage (BuildKit shows one), from what the engine parsed.
    const from = step.step.from;
    if (!from) return;
    const label = `[${step.step.stage ? step.step.stage + ' ' : ''}1/${step.step.stageSteps}]`;
    const vm: BuildStepVM = { id: 0, name: `${label} FROM ${from.image}`, line: from.line, status: 'done', seconds: 0, output: [] };
    const at = this.#steps.indexOf(this.#byN.get(step.step.n)!);
    this.#steps.splice(at < 0 ? this.#steps.length : at, 0, vm);
    this.#steps.forEach((s, i) => (s.id = i + 1));
  }

  apply(event: BuildEvent): void {
    switch (event.type) {
      case 'start':
        this.#total = event.steps.length || 1;
        this.#steps.push({ id: 1, name: '[internal] load build definition from Dockerfile', line: 0, status: 'done', seconds: 0, output: [] });
        for (const step of event.steps) {
          const vm: BuildStepVM = { id: this.#steps.length + 1, name: `[${step.stage ? step.stage + ' ' : ''}${step.stageStep}/${step.stageSteps}] ${step.instruction}`, line: step.line, status: 'waiting', output: [] };
          this.#byN.set(step.n, vm);
          if (!step.configOnly) this.#steps.push(vm);
        }
        break;
      case 'step-start':
        this.#showFrom(event);
        this.#byN.get(event.step.n)!.status = 'running';
        break;
      case 'step-output': {
        const vm = this.#byN.get(event.step.n)!;
        let tail = this.#output.get(vm);
        if (!tail) this.#output.set(vm, (tail = new LineTail(STEP_OUTPUT_LINES)));
        tail.push(...event.text.replace(/\n$/, '').split('\n'));
        break;
      }
      case 'step-done': {
        const vm = this.#byN.get(event.step.n)!;
        vm.status = event.cached ? 'cached' : 'done';
        vm.seconds = event.ms / 1000;
        this.#done++;
        this.#decorations.set(event.step.line, {
          line: event.step.line,
          status: event.step.configOnly && !event.layer ? 'config' : event.cached ? 'cached' : 'rebuilt',
          size: event.layer?.size,
          why: event.cached ? undefined : event.missReasons.map((r) => `- ${r}`).join('\n') || undefined,
        });
        break;
      }
      case 'step-error': {
        const vm = this.#byN.get(event.step.n)!;
        vm.status = 'error';
        vm.error = event.message;
        this.#decorations.set(event.step.line, { line: event.step.line, status: 'failed', why: event.message });
        break;
      }
      case 'done':
        this.#state = 'succeeded';
        this.#imageId = event.imageId;
        this.#seconds = event.ms / 1000;
        this.#steps.push({ id: this.#steps.length + 1, name: 'exporting to image', line: 0, status: 'done', seconds: 0, output: [`writing image ${event.imageId} done`, ...event.tags.map((t) => `naming to docker.io/library/${t.includes(':') ? t : t + ':latest'} done`)] });
        break;
      case 'error':
        this.fail(event.message);
        break;
      case 'pull': {
        const index = this.#pulls.findIndex((p) => p.ref === event.ref);
        const current = index >= 0 ? this.#pulls[index] : newTransfer(event.ref, 'pull');
        let next = applyTransfer(current, event.event);
        if (event.event.kind === 'status' && event.event.text.startsWith('Status:')) next = applyTransfer(next, { kind: 'done' });
        if (index >= 0) this.#pulls[index] = next;
        else this.#pulls.push(next);
        break;
      }
    }
  }

  fail(message: string): void {
    this.#pulls = this.#pulls.map((p) => (p.state === 'running' ? applyTransfer(p, { kind: 'error', message }) : p));
    // Steps that never started are not shown as if they ran (BuildKit lists only what it started).
    this.#steps = this.#steps.filter((s) => s.status !== 'waiting');
    this.#state = 'failed';
    this.#error = message;
    this.#seconds = (performance.now() - this.#started) / 1000;
  }

  cancel(): void {
    this.#state = 'cancelled';
  }

  snapshot(): BuildLogVM {
    return {
      state: this.#state,
      steps: this.#steps.map((s) => ({ ...s, output: this.#output.get(s)?.lines() ?? [...s.output] })),
      progress: this.#state === 'succeeded' ? 1 : this.#done / this.#total,
      imageId: this.#imageId,
      seconds: this.#seconds,
      error: this.#error,
      ...(this.#pulls.length ? { pulls: [...this.#pulls] } : {}),
    };
  }

  decorations(): BuildDecoration[] {
    return [...this.#decorations.values()];
  }
}
