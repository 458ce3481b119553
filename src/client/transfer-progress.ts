/**
 * Pull/push progress as the docker CLI prints it: one line per layer,
 * `<12 hex>: Downloading [=====>     ]  1.2MB/3.4MB`, rewritten in place on a terminal.
 */
import type { TransferEvent } from '../engine/index.ts';

/** Docker's units.HumanSize: decimal units, four significant digits (`1.215MB`). */
export function humanSizeDecimal(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  return `${Number(value.toPrecision(4))}${units[i]}`;
}

/** `[=====>      ]  1.2MB/3.4MB` as jsonmessage.JSONProgress renders it (bar width 50). */
export function progressBar(current: number, total: number | undefined): string {
  if (!total || total <= 0) return `${humanSizeDecimal(current).padStart(8)}`;
  const width = 50;
  const filled = Math.min(width, Math.floor((width * current) / total));
  const bar = filled < width ? `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}` : '='.repeat(width);
  return `[${bar}] ${humanSizeDecimal(current).padStart(8)}/${humanSizeDecimal(total)}`;
}

/** One line of output for a layer event, without the newline. */
export function layerLine(event: Extract<TransferEvent, { kind: 'layer' }>): string {
  const showBar = (event.status === 'Downloading' || event.status === 'Pushing' || event.status === 'Extracting') && event.current !== undefined;
  const tail = showBar ? ` ${progressBar(event.current!, event.total)}` : event.detail ? ` ${event.detail}` : '';
  return `${event.id}: ${event.status}${tail}`;
}

/**
 * Renders transfer events as Docker's CLI does: on a terminal, each layer keeps one line that is rewritten
 * in place (cursor up, clear line); elsewhere, only status changes are printed, one line each.
 */
export function createTransferRenderer(options: { write: (text: string) => void; tty: boolean }) {
  const order: string[] = [];
  const last = new Map<string, string>();
  return (event: TransferEvent) => {
    if (event.kind === 'status') {
      options.write(`${event.text}\n`);
      order.length = 0; // lines above a status line are no longer rewritten
      return;
    }
    const line = layerLine(event);
    if (!options.tty) {
      const previous = last.get(event.id);
      last.set(event.id, event.status);
      if (previous === event.status && (event.status === 'Downloading' || event.status === 'Pushing' || event.status === 'Extracting')) return;
      options.write(`${line}\n`);
      return;
    }
    let index = order.indexOf(event.id);
    if (index < 0) {
      order.push(event.id);
      options.write(`${line}\n`);
      return;
    }
    const up = order.length - index;
    options.write(`\x1b[${up}A\r\x1b[2K${line}\r\x1b[${up}B`);
    index = -1;
  };
}
