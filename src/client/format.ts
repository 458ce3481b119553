/**
 * Docker-style text output, so what learners read here is what the docker CLI prints: go-units sizes and
 * durations, tabwriter columns (min width 10, padding 3), 12-character IDs.
 */
import { shortId, type DockerChange, type HistoryEntry } from '../engine/index.ts';

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** go-units HumanSizeWithPrecision (decimal units), precision 3 as `docker images` uses: "4.26MB", "1.2kB". */
export function humanSize(bytes: number, precision = 3): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < SIZE_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatG(size, precision)}${SIZE_UNITS[i]}`;
}

const BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/** go-units BytesSize (binary units, `%.4g`), as `docker stats` shows memory: "1.359MiB", "256MiB". */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${formatG(size, 4)}${BINARY_UNITS[i]}`;
}

/** Go's `%.*g`: shortest of fixed/exponent at `precision` significant digits, trailing zeros dropped. */
function formatG(value: number, precision: number): string {
  if (value === 0) return "0";
  const exp = Math.floor(
    Math.log10(Math.abs(Number(value.toPrecision(precision)))),
  );
  if (exp < -4 || exp >= precision) {
    const [mant, e] = value.toExponential(precision - 1).split("e");
    const n = Number(e);
    return `${stripZeros(mant)}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return stripZeros(value.toFixed(Math.max(0, precision - 1 - exp)));
}

function stripZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

/** go-units HumanDuration: "Less than a second", "About a minute", "2 minutes", "3 days", ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago" (Docker's CreatedSince); "N/A" when unknown. */
export function timeAgo(options: {
  time: string | undefined;
  now?: number;
}): string {
  const t = options.time ? Date.parse(options.time) : NaN;
  if (Number.isNaN(t) || t <= 0) return "N/A";
  return `${humanDuration((options.now ?? Date.now()) - t)} ago`;
}

/** The STATUS column of `docker ps`: "Up 5 seconds", "Exited (0) 2 minutes ago", "Created". */
export function containerStatus(options: {
  state: "created" | "running" | "paused" | "exited";
  exitCode: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  now?: number;
}): string {
  const now = options.now ?? Date.now();
  if (options.state === "running" && options.startedAt) return `Up ${humanDuration(now - Date.parse(options.startedAt))}`;
  if (options.state === "paused" && options.startedAt) return `Up ${humanDuration(now - Date.parse(options.startedAt))} (Paused)`;
  if (options.state === "exited") return `Exited (${options.exitCode ?? 0}) ${timeAgo({ time: options.finishedAt ?? undefined, now })}`;
  return "Created";
}

/** Docker's Ellipsis: cut to `max` characters, the last one an ellipsis. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return chars.slice(0, max - 1).join("") + "…";
}

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
}

/**
 * Columns as Go's tabwriter lays them out for the docker CLI (minwidth 10, padding 3): each column but the
 * last is as wide as its widest cell plus 3, and at least 10 (`docker top` uses 20). Lines end with "\n".
 */
export function formatTable<Row>(options: {
  columns: Column<Row>[];
  rows: readonly Row[];
  minWidth?: number;
}): string {
  const { columns, rows } = options;
  const cells = [
    columns.map((c) => c.header),
    ...rows.map((r) => columns.map((c) => c.value(r))),
  ];
  const widths = columns.map((_, i) =>
    Math.max(options.minWidth ?? 10, ...cells.map((line) => [...line[i]].length + 3)),
  );
  return cells
    .map((line) =>
      line
        .map((cell, i) =>
          i === line.length - 1
            ? cell
            : cell + " ".repeat(widths[i] - [...cell].length),
        )
        .join(""),
    )
    .map((l) => `${l}\n`)
    .join("");
}

export interface ImageRow {
  id: string;
  repository: string;
  tag: string;
  created: string;
  size: number;
}

/** `docker images` */
export function formatImages(options: {
  images: readonly ImageRow[];
  now?: number;
}): string {
  return formatTable<ImageRow>({
    columns: [
      { header: "REPOSITORY", value: (r) => r.repository },
      { header: "TAG", value: (r) => r.tag },
      { header: "IMAGE ID", value: (r) => shortId(r.id) },
      {
        header: "CREATED",
        value: (r) => timeAgo({ time: r.created, now: options.now }),
      },
      { header: "SIZE", value: (r) => humanSize(r.size) },
    ],
    rows: options.images,
  });
}

export interface HistoryRow {
  /** Image ID for the row, or undefined for `<missing>`. */
  id?: string;
  created?: string;
  createdBy: string;
  size: number;
  comment: string;
}

/**
 * Rows for `docker history`, newest first, from an image config's history and its layers' uncompressed
 * sizes (bottom first). Only the top row carries the image ID; the rest are `<missing>` as for pulled images.
 */
export function historyRows(options: {
  id: string;
  history: readonly HistoryEntry[];
  layerSizes: readonly number[];
}): HistoryRow[] {
  let layer = 0;
  const rows = options.history.map((h) => ({
    created: h.created,
    createdBy: h.created_by ?? "",
    size: h.empty_layer ? 0 : (options.layerSizes[layer++] ?? 0),
    comment: h.comment ?? "",
  }));
  rows.reverse();
  return rows.map((r, i) => ({ ...r, ...(i === 0 ? { id: options.id } : {}) }));
}

/** `docker history` (truncating CREATED BY to 45 characters unless `noTrunc`). */
export function formatHistory(options: {
  rows: readonly HistoryRow[];
  now?: number;
  noTrunc?: boolean;
}): string {
  return formatTable<HistoryRow>({
    columns: [
      {
        header: "IMAGE",
        value: (r) =>
          r.id ? (options.noTrunc ? r.id : shortId(r.id)) : "<missing>",
      },
      {
        header: "CREATED",
        value: (r) => timeAgo({ time: r.created, now: options.now }),
      },
      {
        header: "CREATED BY",
        value: (r) => {
          const text = r.createdBy.replaceAll("\t", " ");
          return options.noTrunc ? text : ellipsis(text, 45);
        },
      },
      { header: "SIZE", value: (r) => humanSize(r.size) },
      { header: "COMMENT", value: (r) => r.comment },
    ],
    rows: options.rows,
  });
}

/** The classic builder's created_by for config-only steps: `/bin/sh -c #(nop)  CMD ["sh"]`. */
export function nopCreatedBy(instruction: string): string {
  return `/bin/sh -c #(nop) ${instruction}`;
}

/** The text `docker diff` prints. */
export function formatDockerDiff(changes: readonly DockerChange[]): string {
  return changes.map((c) => `${c.kind} ${c.path}\n`).join('');
}
