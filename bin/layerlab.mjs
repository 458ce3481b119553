#!/usr/bin/env node
// Launcher for the `layerlab` CLI: registers tsx so Node runs the TypeScript sources directly.
import { register } from 'tsx/esm/api';

register();
const { runMain } = await import('../src/cli/main.ts');
await runMain(process.argv.slice(2));
