import { describe, expect, it } from 'vitest';
import { AgentClient, toBase64, fromBase64, type ByteChannel } from './agent-client';

/** A fake agent: records requests, lets the test answer them with raw lines. */
function fakeChannel() {
  const sent: Record<string, unknown>[] = [];
  let deliver: (bytes: Uint8Array) => void = () => {};
  const channel: ByteChannel = {
    send: (bytes) => {
      for (const line of new TextDecoder().decode(bytes).split('\n').filter(Boolean)) sent.push(JSON.parse(line));
    },
    onBytes: (listener) => {
      deliver = listener;
      return () => {};
    },
  };
  const reply = (text: string) => deliver(new TextEncoder().encode(text));
  const raw = (bytes: Uint8Array) => deliver(bytes);
  return { channel, sent, reply, raw };
}

describe('AgentClient', () => {
  it('matches answers to requests by id, in any order, across split chunks', async () => {
    const { channel, sent, reply } = fakeChannel();
    const client = new AgentClient(channel);
    const first = client.request('list', { dir: '/a' });
    const second = client.request('hello');
    expect(sent.map((m) => [m.id, m.op])).toEqual([
      [1, 'list'],
      [2, 'hello'],
    ]);
    reply('{"id":2,"ok":true,"ver');
    reply('sion":1}\n{"id":1,"ok":true,"entries":[]}\n');
    await expect(second).resolves.toEqual({ version: 1 });
    await expect(first).resolves.toEqual({ entries: [] });
  });

  it('assembles a large answer from many small chunks, multi-byte characters split included', async () => {
    const { channel, raw } = fakeChannel();
    const client = new AgentClient(channel);
    const answer = client.request<{ text: string }>('read');
    const text = 'é'.repeat(300_000);
    const bytes = new TextEncoder().encode(`{"id":1,"ok":true,"text":"${text}"}\n`);
    // Odd-sized pieces split the two-byte é; one scratch buffer is reused, as a device's would be.
    const scratch = new Uint8Array(1001);
    for (let i = 0; i < bytes.length; i += scratch.length) {
      const piece = bytes.subarray(i, i + scratch.length);
      scratch.set(piece);
      raw(scratch.subarray(0, piece.length));
    }
    await expect(answer).resolves.toEqual({ text });
  });

  it('routes stream events to the request and rejects errors with the op named', async () => {
    const { channel, reply } = fakeChannel();
    const client = new AgentClient(channel);
    const chunks: string[] = [];
    const run = client.request('spawn', { argv: ['echo'] }, { onStream: (s, d) => chunks.push(s + ':' + new TextDecoder().decode(d)) });
    reply(`{"id":1,"stream":"stdout","data":"${toBase64(new TextEncoder().encode('hi\n'))}"}\n`);
    reply('{"id":1,"ok":false,"error":"execve /bin/nope: No such file"}\n');
    await expect(run).rejects.toThrow('guest spawn: execve /bin/nope: No such file');
    expect(chunks).toEqual(['stdout:hi\n']);
  });

  it('times out a request that gets no answer, and ignores garbled lines', async () => {
    const { channel, reply } = fakeChannel();
    const client = new AgentClient(channel);
    const request = client.request('hello', {}, { timeoutMs: 20 });
    reply('\u001b[6n garbage\n');
    await expect(request).rejects.toThrow(/no answer within 20 ms/);
  });

  it('delivers unsolicited events and honours AbortSignal', async () => {
    const { channel, reply } = fakeChannel();
    const client = new AgentClient(channel);
    const events: unknown[] = [];
    client.onEvent((e) => events.push(e));
    reply('{"event":"exit","name":"web","code":137}\n');
    expect(events).toEqual([{ event: 'exit', name: 'web', code: 137 }]);
    const controller = new AbortController();
    const request = client.request('run', {}, { signal: controller.signal });
    controller.abort();
    await expect(request).rejects.toThrow('aborted');
  });

  it('base64 round-trips binary data', () => {
    const bytes = Uint8Array.from({ length: 70000 }, (_, i) => (i * 7) & 0xff);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });
});
