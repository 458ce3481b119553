/**
 * `npm run bench`: measures Layerlab's figures, prints them as a table and writes
 * bench/results/latest.json. Timings are medians of repeated runs (v86 varies ±50% and needs warm-up).
 * Run one section with `npm run bench -- vm`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { benchVm } from './vm';
import { benchEngine } from './engine';
import { benchApp, benchTerminal } from './app';
import { benchNative } from './native';
import { benchEmbed } from './embed';
import { benchReliability } from './reliability';
import { benchRegistry } from './registry';
import { benchNet } from './net';
import { benchCli } from './cli';
import { round } from './stats';

type Section = () => Promise<Record<string, number | null | string>>;
const sections: Record<string, Section> = { vm: benchVm, engine: benchEngine, app: benchApp, terminal: benchTerminal, native: benchNative, embed: benchEmbed, reliability: benchReliability, registry: benchRegistry, net: benchNet, cli: benchCli };

const only = process.argv.slice(2);
const results: Record<string, number | null | string> = {};
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  console.error(`bench: ${name}…`);
  // The machine may be shared: each section's figures come with the 1-minute load average at its start.
  results[`${name}.loadavg`] = round(loadavg()[0], 2);
  Object.assign(results, await run());
}

const width = Math.max(...Object.keys(results).map((key) => key.length));
for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(width)}  ${value}`);
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
// Running some sections updates their figures and keeps the others (each figure keeps its own date).
const file = join(out, 'latest.json');
const previous = only.length && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
const now = new Date().toISOString();
const dates = { ...(previous?.dates ?? {}), ...Object.fromEntries(Object.keys(results).map((key) => [key, now])) };
writeFileSync(file, JSON.stringify({ date: now, node: process.version, results: { ...(previous?.results ?? {}), ...results }, dates }, null, 2) + '\n');
process.exit(0);
