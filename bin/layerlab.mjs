#!/usr/bin/env node
// Launcher for the `layerlab` CLI. A docker verb goes straight to the store's running daemon when one
// answers (plain JS: no TypeScript loader, so a warm command costs little more than starting Node);
// otherwise tsx is registered and src/cli/main.ts runs (it starts the daemon; protocol in src/cli/daemon.ts).
import net from 'node:net';
import { join, resolve } from 'node:path';

/** Exit code of the command as run by the daemon, or null when no daemon answers (or it is not a docker verb). */
function throughRunningDaemon(argv) {
  if (/^(off|0|false|no)$/i.test(process.env.LAYERLAB_DAEMON ?? '')) return Promise.resolve(null);
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
  if (rest.length === 0 || own.includes(rest[0]) || rest.includes('--help')) return Promise.resolve(null);
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
const code = await throughRunningDaemon(process.argv.slice(2));
if (code !== null) {
  process.exitCode = code;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { runMain } = await import('../src/cli/main.ts');
  await runMain(process.argv.slice(2));
}
