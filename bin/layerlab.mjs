#!/usr/bin/env node
// Launcher for the `layerlab` CLI. A docker verb goes straight to the store's running daemon when one
// answers (plain JS: no TypeScript loader, so a warm command costs little more than starting Node). When
// none answers, the launcher starts one itself and sends the command once it listens, so the first command
// pays for one TypeScript start (the daemon's) instead of two. Anything else, or a daemon that does not
// come up, goes to src/cli/main.ts under tsx (protocol in src/cli/daemon.ts).
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const daemonOff = () => /^(off|0|false|no)$/i.test(process.env.LAYERLAB_DAEMON ?? '');

/** The global flags, and the command after them (null when the daemon does not run it). */
function daemonCommand(argv) {
  let storeDir = resolve('.layerlab');
  let json = false;
  let i = 0;
  for (; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--store' && i + 1 < argv.length) storeDir = resolve(argv[++i]);
    else if (argv[i].startsWith('--store=')) storeDir = resolve(argv[i].slice('--store='.length));
    else break;
  }
  const rest = argv.slice(i);
  const own = ['daemon', 'lesson', 'help', '--help', '-h', '--version', '-v'];
  if (rest.length === 0 || own.includes(rest[0]) || rest.includes('--help')) return null;
  // A command that may read its stdin (`import -`, `run -i`, `exec -i`; exactly: readsStdin in
  // src/cli/daemon.ts) goes through main.ts, which sends the stdin along; this path sends none.
  if (rest.some((arg) => arg === '-' || arg === '--interactive' || /^-[a-zA-Z]*i[a-zA-Z]*$/.test(arg))) return null;
  // `build --secret …` may read this process's environment (env=VAR): main.ts sends the variables it names.
  if (rest.some((arg) => arg === '--secret' || arg.startsWith('--secret='))) return null;
  return { storeDir, json, rest };
}

/** Whether the store's daemon answers a status request. */
function daemonAnswers(storeDir) {
  return new Promise((done) => {
    const socket = net.connect(join(storeDir, 'daemon.sock'));
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ control: 'status' })}\n`));
    socket.on('data', (chunk) => {
      buffer += chunk;
      if (buffer.includes('\n')) {
        socket.end();
        done(true);
      }
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/**
 * Starts the store's daemon (`layerlab daemon run`, detached, its output in STORE/daemon.log) and waits
 * until it answers. False when it ended first or did not answer in time: main.ts then tries and reports.
 */
async function startDaemon(storeDir, timeoutMs = 120_000) {
  try {
    mkdirSync(storeDir, { recursive: true });
    const log = openSync(join(storeDir, 'daemon.log'), 'a');
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--store', storeDir, 'daemon', 'run'], {
      detached: true,
      stdio: ['ignore', log, log],
      env: process.env,
    });
    closeSync(log);
    let exited = false;
    child.on('exit', () => (exited = true));
    child.unref();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await daemonAnswers(storeDir)) return true;
      // Another client's daemon may have won the race for the socket: one last look.
      if (exited) return daemonAnswers(storeDir);
      await new Promise((done) => setTimeout(done, 20));
    }
  } catch {
    /* main.ts starts it and says what went wrong */
  }
  return false;
}

/** Exit code of the command as run by the daemon, or null when no daemon answers. */
function throughRunningDaemon({ storeDir, json, rest }) {
  return new Promise((done) => {
    const socket = net.connect(join(storeDir, 'daemon.sock'));
    let connected = false;
    let finished = false;
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ argv: rest, cwd: process.cwd(), json })}\n`);
    });
    socket.on('data', (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (message.stdout !== undefined) process.stdout.write(message.stdout);
        else if (message.stderr !== undefined) process.stderr.write(message.stderr);
        else if (message.exit !== undefined) {
          finished = true;
          socket.end();
          done(message.exit);
        }
      }
    });
    socket.on('error', () => {
      if (!connected) done(null);
    });
    socket.on('close', () => {
      if (finished || !connected) return;
      process.stderr.write(`layerlab: the layerlab daemon ended in the middle of the command (its log: ${join(storeDir, 'daemon.log')})\n`);
      done(125);
    });
  });
}

// `layerlab images | head -1`: a closed pipe ends the command quietly, as it does for docker.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const command = daemonOff() ? null : daemonCommand(process.argv.slice(2));
let code = command ? await throughRunningDaemon(command) : null;
if (code === null && command && (await startDaemon(command.storeDir))) code = await throughRunningDaemon(command);
if (code !== null) {
  process.exitCode = code;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runMain } = await import('../src/cli/main.ts');
  await runMain(process.argv.slice(2));
}
