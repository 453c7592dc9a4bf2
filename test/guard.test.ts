/**
 * The SSRF guard, through a real relay. DNS is stubbed so that no test ever looks up a real name, and the
 * relay's count of attempted TCP connections proves that a refused destination never got a packet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../src/client/connection.js';
import { FerryError } from '../src/protocol/codes.js';
import { addressRefusal, parseAllowedHost } from '../src/relay/core/guard.js';
import type { Relay } from '../src/relay/node/server.js';
import { Origin, testBytes } from './helpers/origin.js';
import { connect, startRelay } from './helpers/relay.js';

const fakeDns: Record<string, string[]> = {
  'localhost.test': ['127.0.0.1'],
  'internal.test': ['10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  'v6private.test': ['fd12:3456::1'],
  'mapped.test': ['::ffff:192.168.0.1'],
  'mixed.test': ['93.184.216.34', '192.168.0.1'],
  'compat.test': ['::7f00:1'],
  'nat64.test': ['64:ff9b:1::a9fe:a9fe'],
};

/** Names whose answer changes at every lookup, as a rebinding attacker's DNS would. */
const rebinding: Record<string, string[]> = {
  'rebind.test': ['10.0.0.1', 'fd00::1', '::ffff:127.0.0.1', '169.254.169.254'],
};
const lookups: Record<string, number> = {};

let origin: Origin;
let relay: Relay;
let client: Connection;

beforeAll(async () => {
  origin = await new Origin().start();
  origin.set('/ok', { body: testBytes(1000) });
  origin.redirect('/to-private', 'http://192.168.0.10/secret');
  origin.redirect('/to-private-name', 'http://internal.test/secret');
  origin.redirect('/to-file', 'file:///etc/passwd');
  relay = await startRelay({
    allow: [origin.hostPort],
    resolver: async (name) => {
      lookups[name] = (lookups[name] ?? 0) + 1;
      const turn = rebinding[name];
      if (turn) {
        const address = turn[(lookups[name]! - 1) % turn.length]!;
        return [{ address, family: address.includes(':') ? 6 : 4 }];
      }
      const answers = fakeDns[name];
      if (!answers) throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  });
  client = connect(relay.url);
});

afterAll(async () => {
  client.close();
  await relay.close();
  await origin.close();
});

async function dials(): Promise<number> {
  return (await relay.metrics.dials.get()).values[0]?.value ?? 0;
}

async function outcome(url: string): Promise<string> {
  try {
    await client.open({ url }).meta;
    return 'ok';
  } catch (err) {
    return (err as FerryError).code;
  }
}

const blocked = [
  'http://127.0.0.1/',
  'http://127.1/',
  'http://2130706433/',
  'http://0177.0.0.1/',
  'http://0x7f.0.0.1/',
  'http://017700000001/',
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00:ec2::254]/',
  'http://[fc00::1]/',
  'http://[fe80::1]/',
  'http://0.0.0.0/',
  'http://[::]/',
  'http://100.64.0.1/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://[64:ff9b::7f00:1]/',
  'http://[2002:7f00:1::]/',
  // IPv4-compatible IPv6 (::/96) as URL parsing writes it (::7f00:1), local-use NAT64, SIIT, Teredo.
  'http://[::127.0.0.1]/',
  'http://[::169.254.169.254]/',
  'http://[::a00:1]/',
  'http://[64:ff9b:1::a9fe:a9fe]/',
  'http://[::ffff:0:7f00:1]/',
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/',
  'http://198.18.0.1/',
  'http://[2001:db8::1]/',
  'http://localhost.test/',
  'http://internal.test:8080/admin',
  'http://metadata.test/',
  'http://v6private.test/',
  'http://mapped.test/',
  'http://mixed.test/',
  'http://compat.test/',
  'http://nat64.test/',
];

describe('SSRF guard', () => {
  it.each(blocked)('refuses %s without dialling', async (url) => {
    const before = await dials();
    expect(await outcome(url)).toBe('blocked');
    expect(await dials()).toBe(before);
  });

  it('refuses a loopback port the operator did not open', async () => {
    const before = await dials();
    expect(await outcome(`http://127.0.0.1:${origin.port + 1}/`)).toBe('blocked');
    expect(await dials()).toBe(before);
  });

  it.each([
    ['/to-private', 'blocked'],
    ['/to-private-name', 'blocked'],
    ['/to-file', 'invalid_url'],
  ])('checks every redirect hop (%s)', async (path, code) => {
    const before = await dials();
    expect(await outcome(origin.url(path))).toBe(code);
    // Only the allowed origin itself was dialled.
    expect(await dials()).toBeLessThanOrEqual(before + 1);
  });

  it.each(['ftp://example.test/', 'file:///etc/passwd', 'gopher://x/', 'not a url', 'javascript:alert(1)'])('refuses the scheme of %s', async (url) => {
    expect(await outcome(url)).toBe('invalid_url');
  });

  it('reports a name that does not resolve', async () => {
    expect(await outcome('http://nowhere.test/')).toBe('dns_failed');
  });

  it('lets the opened host and port through', async () => {
    expect(await outcome(origin.url('/ok'))).toBe('ok');
  });

  it('judges addresses by their range', () => {
    expect(addressRefusal('8.8.8.8')).toBeNull();
    expect(addressRefusal('2606:4700::1')).toBeNull();
    expect(addressRefusal('::ffff:10.0.0.1')).toMatch(/private/);
    expect(parseAllowedHost('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseAllowedHost('Example.com')).toEqual({ host: 'example.com', port: undefined });
  });

  it('refuses a name whose answers change from one lookup to the next, looking it up every time', async () => {
    const before = await dials();
    for (let i = 0; i < 4; i++) expect(await outcome('http://rebind.test/')).toBe('blocked');
    expect(lookups['rebind.test']).toBe(4);
    expect(await dials()).toBe(before);
  });
});
