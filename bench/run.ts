/**
 * `npm run bench`: measures Layerlab's figures, prints them as a table and writes
 * bench/results/latest.json. Timings are medians of repeated runs (v86 varies ±50% and needs warm-up).
 * Run one section with `npm run bench -- vm`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchVm } from './vm';
import { benchEngine } from './engine';
import { benchApp } from './app';
import { benchEmbed } from './embed';

type Section = () => Promise<Record<string, number | null | string>>;
const sections: Record<string, Section> = { vm: benchVm, engine: benchEngine, app: benchApp, embed: benchEmbed };

const only = process.argv.slice(2);
const results: Record<string, number | null | string> = {};
for (const [name, run] of Object.entries(sections)) {
  if (only.length && !only.includes(name)) continue;
  console.error(`bench: ${name}…`);
  Object.assign(results, await run());
}

const width = Math.max(...Object.keys(results).map((key) => key.length));
for (const [key, value] of Object.entries(results)) console.log(`${key.padEnd(width)}  ${value}`);
const out = join(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'latest.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n',
);
process.exit(0);
