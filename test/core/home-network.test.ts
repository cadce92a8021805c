import assert from 'node:assert/strict';
import { hostStanding, isHomeNetworkHost, resolvesToHomeNetwork, type HostStanding } from '../../src/core/home-network.js';
import table from '../web/home-hosts.json';

type Verdict = 'allowed' | 'refused' | 'by-address';
const STANDING: Record<Verdict, HostStanding> = { allowed: 'home', refused: 'outside', 'by-address': 'by-address' };
const rows = Object.entries(table.hosts) as [string, Verdict][];

/** The hub's side of the one home-network rule; the relay page's side is test/web/relay-hosts.test.ts. */
describe('core: home-network hosts (test/web/home-hosts.json)', () => {
  it(`stands every host of the table where the table says (${rows.length} hosts)`, () => {
    const wrong: string[] = [];
    for (const [host, verdict] of rows) {
      // As the relay page sees it: the host inside a hub address, through the URL parser.
      let hostname: string;
      try {
        hostname = new URL(`http://${host}:1880/link/callback`).hostname;
      } catch {
        hostname = host;
      }
      for (const spelling of new Set([host, hostname])) {
        const standing = hostStanding(spelling);
        if (standing !== STANDING[verdict]) wrong.push(`${spelling}: ${standing}, expected ${STANDING[verdict]}`);
        assert.equal(isHomeNetworkHost(spelling), verdict === 'allowed', spelling);
      }
    }
    assert.ok(wrong.length === 0, `the hub disagrees with home-hosts.json:\n${wrong.join('\n')}`);
  });

  it('reads bare IPv6 the way a URL writes it', () => {
    assert.equal(hostStanding('fd12:3456::1'), 'home');
    assert.equal(hostStanding('::1'), 'home');
    assert.equal(hostStanding('fe80::1'), 'outside');
    assert.equal(hostStanding('fc::1'), 'outside');
    assert.equal(hostStanding('fe80::1%eth0'), 'outside');
    for (const junk of ['', 'hub/x', 'user@hub', 'hub:80', 'hub?x', 'hub#x']) assert.equal(hostStanding(junk), 'outside', junk);
  });

  describe('a name that stands by its addresses', () => {
    const answers: Record<string, string[]> = {
      'nas': ['192.168.1.5'],
      'nas.lan': ['192.168.1.5', 'fd00::5'],
      'hub': ['8.8.8.8'],
      'split': ['192.168.1.5', '203.0.113.7'],
      'metadata': ['169.254.169.254'],
      'linklocal': ['fe80::1'],
      'mapped': ['::ffff:192.168.1.5'],
      'imds6': ['fd00:ec2::254'],
      'nothing': [],
    };
    const looked: string[] = [];
    const lookup = async (name: string): Promise<string[]> => {
      looked.push(name);
      const found = answers[name];
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return found;
    };
    beforeEach(() => (looked.length = 0));

    it('is home only when every address it resolves to is a home address', async () => {
      const verdicts: Record<string, boolean> = {};
      for (const name of Object.keys(answers)) verdicts[name] = await resolvesToHomeNetwork(name, lookup);
      assert.deepEqual(verdicts, {
        nas: true,
        'nas.lan': true,
        hub: false,
        split: false,
        metadata: false,
        linklocal: false,
        mapped: false,
        imds6: false,
        nothing: false,
      });
      await assert.rejects(resolvesToHomeNetwork('gone', lookup), { code: 'ENOTFOUND' });
    });

    it('looks up nothing a name says by its text', async () => {
      for (const host of ['192.168.1.5', 'hub.local', 'localhost', '[::1]', '169.254.169.254', 'example.com', 'metadata.google.internal']) {
        assert.equal(await resolvesToHomeNetwork(host, lookup), isHomeNetworkHost(host), host);
      }
      assert.deepEqual(looked, []);
    });
  });
});
