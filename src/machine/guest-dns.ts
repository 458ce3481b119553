/**
 * The guest's DNS server at v86's virtual router (192.168.86.1:53). v86's wisp adapter would send DNS
 * questions to a public DNS-over-HTTPS service from the page; here they are answered by the relay's side
 * instead (A records only), so the address the guest then connects to is one the relay resolved and checks.
 * `host.docker.internal` is the router itself, which the relay maps to the machine it runs on.
 */
export const HOST_GATEWAY_NAME = 'host.docker.internal';

export interface DnsQuestion {
  id: number;
  name: string;
  type: number;
  /** The question section as sent (echoed in the answer). */
  section: Uint8Array;
  recursionDesired: boolean;
}

/** The DNS question in an Ethernet frame carrying IPv4/UDP to port 53 of `routerIp`, or null. */
export function dnsQueryIn(frame: Uint8Array, routerIp: readonly number[]): { question: DnsQuestion; ipOffset: number; udpOffset: number } | null {
  if (frame.length < 14 + 20 + 8 + 12) return null;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint16(12) !== 0x0800) return null;
  const ip = 14;
  const ihl = (frame[ip] & 0x0f) * 4;
  if (frame[ip] >> 4 !== 4 || frame[ip + 9] !== 17) return null;
  for (let i = 0; i < 4; i++) if (frame[ip + 16 + i] !== routerIp[i]) return null;
  const udp = ip + ihl;
  if (frame.length < udp + 8 + 12 || view.getUint16(udp + 2) !== 53) return null;
  const dns = udp + 8;
  if (view.getUint16(dns + 4) !== 1 || (frame[dns + 2] & 0x80) !== 0) return null; // one question, a query
  const labels: string[] = [];
  let at = dns + 12;
  while (at < frame.length && frame[at] !== 0) {
    const length = frame[at];
    if (length > 63 || at + 1 + length > frame.length) return null;
    labels.push(new TextDecoder().decode(frame.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  if (at + 5 > frame.length) return null;
  const type = view.getUint16(at + 1);
  return {
    question: {
      id: view.getUint16(dns),
      name: labels.join('.').toLowerCase(),
      type,
      section: frame.slice(dns + 12, at + 5),
      recursionDesired: (frame[dns + 2] & 0x01) !== 0,
    },
    ipOffset: ip,
    udpOffset: udp,
  };
}

/** A DNS answer message: A records for `addresses` (IPv4 dotted quads), NXDOMAIN when `addresses` is null. */
export function dnsAnswer(question: DnsQuestion, addresses: string[] | null): Uint8Array {
  const answers = question.type === 1 && addresses ? addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a)) : [];
  const out = new Uint8Array(12 + question.section.length + answers.length * 16);
  const view = new DataView(out.buffer);
  view.setUint16(0, question.id);
  view.setUint16(2, 0x8080 | (question.recursionDesired ? 0x0100 : 0) | (addresses === null ? 3 : 0));
  view.setUint16(4, 1);
  view.setUint16(6, answers.length);
  out.set(question.section, 12);
  let at = 12 + question.section.length;
  for (const address of answers) {
    view.setUint16(at, 0xc00c); // the name: a pointer to the question's
    view.setUint16(at + 2, 1);
    view.setUint16(at + 4, 1);
    view.setUint32(at + 6, 60);
    view.setUint16(at + 10, 4);
    address.split('.').forEach((part, i) => (out[at + 12 + i] = Number(part)));
    at += 16;
  }
  return out;
}

/** The reply frame to the query frame `request`: addresses and ports swapped, `payload` as the UDP data. */
export function udpReplyFrame(request: Uint8Array, ipOffset: number, udpOffset: number, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + payload.length);
  const view = new DataView(frame.buffer);
  frame.set(request.subarray(6, 12), 0); // to the sender's MAC
  frame.set(request.subarray(0, 6), 6); // from the router's
  view.setUint16(12, 0x0800);
  const ip = 14;
  frame[ip] = 0x45;
  view.setUint16(ip + 2, 20 + 8 + payload.length);
  frame[ip + 8] = 64; // TTL
  frame[ip + 9] = 17; // UDP
  frame.set(request.subarray(ipOffset + 16, ipOffset + 20), ip + 12);
  frame.set(request.subarray(ipOffset + 12, ipOffset + 16), ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += view.getUint16(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(ip + 10, ~sum & 0xffff);
  const udp = ip + 20;
  view.setUint16(udp, 53);
  view.setUint16(udp + 2, new DataView(request.buffer, request.byteOffset).getUint16(udpOffset));
  view.setUint16(udp + 4, 8 + payload.length);
  // UDP checksum 0: "none", allowed over IPv4
  frame.set(payload, udp + 8);
  return frame;
}

interface WispAdapter {
  send(frame: Uint8Array): void;
  receive(frame: Uint8Array): void;
  router_ip: Uint8Array;
}

/** Routes the guest's DNS questions to `resolve` instead of v86's DNS-over-HTTPS. */
export function answerGuestDns(emulator: unknown, resolve: (name: string) => Promise<string[]>, gateway: string): void {
  const adapter = (emulator as { network_adapter?: WispAdapter }).network_adapter;
  if (!adapter) return;
  const forward = adapter.send.bind(adapter);
  const router = [...adapter.router_ip];
  adapter.send = (frame: Uint8Array) => {
    const query = dnsQueryIn(frame, router);
    if (!query) return forward(frame);
    const { question } = query;
    const lookup = question.name === HOST_GATEWAY_NAME ? Promise.resolve([gateway]) : resolve(question.name);
    void lookup.then(
      (addresses) => adapter.receive(udpReplyFrame(frame, query.ipOffset, query.udpOffset, dnsAnswer(question, addresses))),
      () => adapter.receive(udpReplyFrame(frame, query.ipOffset, query.udpOffset, dnsAnswer(question, null))),
    );
  };
}
