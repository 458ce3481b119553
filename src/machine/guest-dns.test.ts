import { describe, expect, it } from 'vitest';
import { dnsAnswer, dnsQueryIn, udpReplyFrame } from './guest-dns';

const ROUTER = [192, 168, 86, 1];

/** An Ethernet/IPv4/UDP frame from the guest to the router's port 53 asking for `name` (type A). */
function queryFrame(name: string, type = 1): Uint8Array {
  const qname = name.split('.').flatMap((label) => [label.length, ...new TextEncoder().encode(label)]);
  const dns = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...qname, 0, 0, type, 0, 1];
  const udp = [0xc0, 0x01, 0, 53, 0, 8 + dns.length, 0, 0, ...dns];
  const ip = [0x45, 0, 0, 20 + udp.length, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 86, 100, ...ROUTER, ...udp];
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x00, ...ip]);
}

describe('guest DNS', () => {
  it('finds the question of a query to the router', () => {
    const found = dnsQueryIn(queryFrame('Example.org'), ROUTER);
    expect(found?.question).toMatchObject({ id: 0x1234, name: 'example.org', type: 1, recursionDesired: true });
    expect(dnsQueryIn(queryFrame('example.org'), [10, 0, 0, 1])).toBeNull();
    expect(dnsQueryIn(queryFrame('example.org').subarray(0, 40), ROUTER)).toBeNull();
  });

  it('answers with A records in a UDP reply from the router to the guest', () => {
    const request = queryFrame('host.docker.internal');
    const found = dnsQueryIn(request, ROUTER)!;
    const reply = udpReplyFrame(request, found.ipOffset, found.udpOffset, dnsAnswer(found.question, ['192.168.86.1']));
    const view = new DataView(reply.buffer);
    expect([...reply.subarray(0, 6)]).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]); // to the guest's MAC
    expect([...reply.subarray(14 + 12, 14 + 16)]).toEqual(ROUTER);
    expect([...reply.subarray(14 + 16, 14 + 20)]).toEqual([192, 168, 86, 100]);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += view.getUint16(14 + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff); // a valid IPv4 header checksum
    expect(view.getUint16(34)).toBe(53);
    expect(view.getUint16(36)).toBe(0xc001);
    const dns = reply.subarray(42);
    const dv = new DataView(dns.buffer, dns.byteOffset);
    expect(dv.getUint16(0)).toBe(0x1234);
    expect(dv.getUint16(2) & 0x800f).toBe(0x8000); // a response, NOERROR
    expect(dv.getUint16(6)).toBe(1);
    expect([...dns.subarray(dns.length - 4)]).toEqual([192, 168, 86, 1]);
  });

  it('says NXDOMAIN for a name that does not resolve, and no records for other types', () => {
    const question = dnsQueryIn(queryFrame('nowhere.test'), ROUTER)!.question;
    expect(new DataView(dnsAnswer(question, null).buffer).getUint16(2) & 0xf).toBe(3);
    const aaaa = dnsQueryIn(queryFrame('example.org', 28), ROUTER)!.question;
    expect(new DataView(dnsAnswer(aaaa, ['93.184.215.14']).buffer).getUint16(6)).toBe(0);
  });
});
