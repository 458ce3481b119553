/**
 * Pull (and push) progress as the panels show it: one entry per transfer, from the engine's transfer
 * events (Docker's per-layer statuses), with totals for one progress bar.
 */
import type { TransferEvent } from '../../engine/index.ts';

export interface TransferLayerVM {
  id: string;
  status: string;
  current: number;
  total: number;
}

export interface TransferVM {
  ref: string;
  action: 'pull' | 'push';
  state: 'running' | 'done' | 'failed';
  layers: TransferLayerVM[];
  /** Docker's header and summary lines (`Digest: …`, `Status: …`). */
  lines: string[];
  error?: string;
}

const FINISHED = new Set(['Pull complete', 'Already exists', 'Pushed', 'Layer already exists', 'Mounted from', 'Download complete', 'Verifying Checksum', 'Extracting']);

export function newTransfer(ref: string, action: 'pull' | 'push'): TransferVM {
  return { ref, action, state: 'running', layers: [], lines: [] };
}

/** Returns a new TransferVM with the event applied (the old one is left as it was, for Svelte's raw state). */
export function applyTransfer(vm: TransferVM, event: TransferEvent | { kind: 'done' } | { kind: 'error'; message: string }): TransferVM {
  if (event.kind === 'done') return { ...vm, state: 'done' };
  if (event.kind === 'error') return { ...vm, state: 'failed', error: event.message };
  if (event.kind === 'status') return { ...vm, lines: [...vm.lines, event.text] };
  const layers = vm.layers.slice();
  const index = layers.findIndex((l) => l.id === event.id);
  const previous = index >= 0 ? layers[index] : { id: event.id, status: '', current: 0, total: 0 };
  const total = event.total ?? previous.total;
  const done = FINISHED.has(event.status);
  const next = { id: event.id, status: event.status, total, current: done ? total || previous.current : (event.current ?? previous.current) };
  if (index >= 0) layers[index] = next;
  else layers.push(next);
  return { ...vm, layers };
}

/** 0..1 over all layers: bytes where sizes are known, finished layers otherwise. */
export function transferProgress(vm: TransferVM): number {
  if (vm.state === 'done') return 1;
  if (vm.layers.length === 0) return 0;
  const finished = (l: TransferLayerVM) => FINISHED.has(l.status) && l.status !== 'Download complete' && l.status !== 'Verifying Checksum' && l.status !== 'Extracting';
  const perLayer = vm.layers.map((l) => (finished(l) ? 1 : l.total > 0 ? Math.min(1, l.current / l.total) * 0.95 : 0));
  return perLayer.reduce((a, b) => a + b, 0) / vm.layers.length;
}

export function transferSummary(vm: TransferVM): string {
  const done = vm.layers.filter((l) => ['Pull complete', 'Already exists', 'Pushed', 'Layer already exists'].includes(l.status)).length;
  const bytes = vm.layers.reduce((sum, l) => sum + l.current, 0);
  const total = vm.layers.reduce((sum, l) => sum + l.total, 0);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const size = total > 0 ? ` · ${mb(bytes)} / ${mb(total)}` : '';
  if (vm.state === 'failed') return `failed: ${vm.error ?? 'unknown error'}`;
  if (vm.state === 'done') return vm.lines.find((l) => l.startsWith('Status:'))?.slice(8) ?? (vm.action === 'push' ? 'pushed' : 'pulled');
  return `${done} of ${vm.layers.length} layers${size}`;
}
