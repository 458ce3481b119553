import { describe, expect, it } from 'vitest';
import { exposedTcpPorts, parsePublish } from './ports.ts';
import { formatPortLines, formatPortsColumn } from '../../client/ports.ts';

describe('published ports', () => {
  it('parses -p like the docker CLI', () => {
    expect(parsePublish('8080:8000')).toEqual({ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 8000, protocol: 'tcp' });
    expect(parsePublish('127.0.0.1:8080:8000/tcp')).toEqual({ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8000, protocol: 'tcp' });
    expect(parsePublish('8000')).toEqual({ hostIp: '0.0.0.0', hostPort: 0, containerPort: 8000, protocol: 'tcp' });
    expect(parsePublish('127.0.0.1::8000')).toMatchObject({ hostIp: '127.0.0.1', hostPort: 0 });
  });

  it('refuses what it cannot publish, saying why', () => {
    expect(() => parsePublish('8080:http')).toThrow('invalid containerPort: http');
    expect(() => parsePublish('70000:80')).toThrow('invalid port: 70000');
    expect(() => parsePublish('53:53/udp')).toThrow('TCP ports only');
    expect(() => parsePublish('8080-8081:80')).toThrow('port ranges');
    expect(() => parsePublish('1:2:3:4')).toThrow('invalid port format');
    expect(() => parsePublish('localhost:80:80')).toThrow('invalid IP address: localhost');
  });

  it('formats the PORTS column and docker port', () => {
    const bindings = [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 8000, protocol: 'tcp' as const }];
    expect(formatPortsColumn(bindings, [8000, 9000])).toBe('0.0.0.0:8080->8000/tcp, 9000/tcp');
    expect(formatPortLines(bindings)).toEqual(['8000/tcp -> 0.0.0.0:8080']);
    expect(formatPortLines(bindings, '8000/tcp')).toEqual(['0.0.0.0:8080']);
    expect(exposedTcpPorts({ '8000/tcp': {}, '53/udp': {}, '80': {} })).toEqual([80, 8000]);
  });
});
