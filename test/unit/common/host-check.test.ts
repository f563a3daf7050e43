import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { HostCheck, normalizeHostName } from '../../../src/common/host-check.js';

describe('HostCheck', () => {
  const check = new HostCheck(['proxy.example.org']);

  it.each([
    [undefined, true],
    ['127.0.0.1:8090', true],
    ['[::1]:8090', true],
    ['192.168.1.20', true],
    ['localhost', true],
    ['LocalHost.:8090', true],
    ['app.localhost:3000', true],
    [`${hostname()}:8090`, true],
    ['proxy.example.org', true],
    ['PROXY.example.org.:443', true],
    ['evil.example:8090', false],
    ['127.0.0.1.nip.io:8090', false],
    ['localhost.evil.example', false],
    ['[not-an-address]:8090', false],
    ['a:b:c', false],
  ])('Host %s: %s', (host, allowed) => {
    expect(check.allowsHost(host)).toBe(allowed);
  });

  it.each([
    ['http://localhost:5173', true],
    ['https://localhost', true],
    ['http://app.localhost:3000', true],
    ['http://127.0.0.1:8090', true],
    ['http://127.1.2.3', true],
    ['http://[::1]:8080', true],
    [`http://${hostname()}:3000`, true],
    ['https://proxy.example.org', true],
    ['https://evil.example', false],
    // An address is not a name a page must rebind: a page anywhere may be served from one.
    ['http://192.168.1.20:3000', false],
    ['http://[2001:db8::1]', false],
    ['http://127.0.0.1.nip.io', false],
    ['http://localhost.evil.example', false],
    ['null', false],
    ['file://', false],
    ['chrome-extension://abcdefghijklmnop', false],
    ['', false],
  ])('Origin %s: %s', (origin, allowed) => {
    expect(check.allowsOrigin(origin)).toBe(allowed);
  });

  it('--allow-host takes a host name only', () => {
    expect(normalizeHostName(' Proxy.Example.org. ')).toBe('proxy.example.org');
    for (const name of ['*', '*.example.org', 'https://proxy.example.org', 'proxy.example.org:443', '']) {
      expect(() => normalizeHostName(name), name).toThrow(`"${name}" is not a host name`);
    }
  });
});
