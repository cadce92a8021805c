import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CODE_ALPHABET,
  defaultRedirectUri,
  formatCode,
  isLoopbackRedirect,
  loopbackRedirectUri,
  normalizeCode,
  normalizeRoot,
  pairingPageUrl,
  randomCode,
  responseFromPastedAddress,
  suggestedRedirectUri,
} from '../../src/core/index.js';
import { advertisePairingPage, type BonjourPublisher } from '../../src/mdns/pairing-advert.js';
import {
  contentSecurityPolicy,
  defaultPublicUrl,
  escapeHtml,
  findLocalesFolder,
  loadPageCatalogs,
  PAGE_LANGUAGES,
  matchLanguage,
} from '../../src/web/index.js';

const ROOT = path.resolve(__dirname, '../..');

describe('web: pairing codes, addresses, languages, mDNS advert', function () {
  it('codes: 8 letters from BCDFGHJKLMNPQRSTVWXZ, every letter about equally likely', () => {
    const counts = new Map<string, number>();
    const draws = 10_000;
    for (let i = 0; i < draws; i++) {
      const code = randomCode();
      assert.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      for (const letter of code) counts.set(letter, (counts.get(letter) ?? 0) + 1);
    }
    assert.equal(counts.size, 20);
    // 80,000 letters: 4,000 expected each (standard deviation ~62). A modulo-biased draw from bytes
    // (256 = 12·20 + 16) would give the first 16 letters ~4,062 and the last 4 ~3,750.
    for (const [letter, count] of counts) assert.ok(count > 3700 && count < 4300, `${letter}: ${count}`);
    const firstSixteen = [...CODE_ALPHABET.slice(0, 16)].reduce((sum, l) => sum + (counts.get(l) ?? 0), 0) / 16;
    const lastFour = [...CODE_ALPHABET.slice(16)].reduce((sum, l) => sum + (counts.get(l) ?? 0), 0) / 4;
    assert.ok(Math.abs(firstSixteen - lastFour) < 150, `${firstSixteen} vs ${lastFour}`);
  });

  it('codes: shown XXXX-XXXX, read case- and dash-insensitively, anything else refused', () => {
    assert.equal(formatCode('BDWPHQPK'), 'BDWP-HQPK');
    for (const typed of ['BDWP-HQPK', 'bdwphqpk', ' bdwp hqpk ', 'Bdwp–Hqpk', 'BDWP_HQPK', 'bd-wp-hq-pk']) {
      assert.equal(normalizeCode(typed), 'BDWPHQPK', typed);
    }
    for (const typed of ['BDWP-HQP', 'BDWP-HQPKK', 'ADWP-HQPK', 'BDWP-HQP1', '', 'x'.repeat(100), 'BDWP<HQPK']) {
      assert.equal(normalizeCode(typed), null, typed);
    }
    assert.equal(normalizeCode(undefined as unknown as string), null);
  });

  it('digits codes: 9 digits, every digit about equally likely, shown 123-456-789 and read back either way', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 5000; i++) {
      const code = randomCode('digits');
      assert.match(code, /^[0-9]{9}$/);
      for (const digit of code) counts[Number(digit)]!++;
    }
    // 45,000 digits: 4,500 expected each (standard deviation ~64).
    for (const [digit, count] of counts.entries()) assert.ok(count > 4200 && count < 4800, `${digit}: ${count}`);
    assert.equal(formatCode('123456789'), '123-456-789');
    for (const typed of ['123-456-789', '123456789', ' 123 456 789 ', '123.456.789', '123–456–789']) {
      assert.equal(normalizeCode(typed), '123456789', typed);
    }
    for (const typed of ['12345678', '1234567890', '123-456-78B', '１２３４５６７８９']) assert.equal(normalizeCode(typed), null, typed);
    assert.equal(randomCode().length, 8, 'letters stay the default');
  });

  it('pasted addresses: full URL, query only, fragment answers', () => {
    assert.equal(responseFromPastedAddress('http://127.0.0.1:1880/link/callback?code=a&state=b').get('state'), 'b');
    assert.equal(responseFromPastedAddress('  ?code=a&state=b ').get('code'), 'a');
    assert.equal(responseFromPastedAddress('code=a&state=b').get('state'), 'b');
    assert.equal(responseFromPastedAddress('http://127.0.0.1:1880/cb#code=a&state=b').get('code'), 'a');
    assert.equal(responseFromPastedAddress('nonsense').get('state'), null);
  });

  it('addresses: first non-internal IPv4, redirect URIs, httpNodeRoot, and Spotify gets the loopback one', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      docker0: [{ address: 'fe80::1', family: 'IPv6', internal: false }],
      wlan0: [
        { address: '169.254.3.3', family: 'IPv4', internal: false },
        { address: '192.168.1.20', family: 'IPv4', internal: false },
      ],
    } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;
    assert.equal(defaultPublicUrl(1880, '/', interfaces), 'http://192.168.1.20:1880');
    assert.equal(defaultPublicUrl(1880, false, interfaces), null, 'no HTTP nodes, no page');
    assert.equal(defaultPublicUrl(1880, '/', { lo: interfaces.lo }), 'http://127.0.0.1:1880');
    assert.equal(defaultRedirectUri('http://192.168.1.20:1880/', '/'), 'http://192.168.1.20:1880/link/callback');
    assert.equal(defaultRedirectUri('http://192.168.1.20:1880', 'nodes'), 'http://192.168.1.20:1880/nodes/link/callback');
    assert.equal(pairingPageUrl('http://hub:1880', '/api/'), 'http://hub:1880/api/link');
    assert.equal(loopbackRedirectUri(1881, '/nodes'), 'http://127.0.0.1:1881/nodes/link/callback');
    assert.equal(suggestedRedirectUri({ provider: 'spotify', publicUrl: 'http://192.168.1.20:1880', port: 1880 }), 'http://127.0.0.1:1880/link/callback');
    assert.equal(suggestedRedirectUri({ provider: 'spotify', publicUrl: 'https://hub.example', port: 1880 }), 'https://hub.example/link/callback');
    assert.equal(suggestedRedirectUri({ provider: 'oidc', publicUrl: 'http://192.168.1.20:1880', port: 1880 }), 'http://192.168.1.20:1880/link/callback');
    assert.equal(normalizeRoot(undefined), '/');
    assert.equal(normalizeRoot('//x//'), '/x/');
    assert.ok(isLoopbackRedirect('http://127.0.0.1:1880/link/callback'));
    assert.ok(isLoopbackRedirect('http://[::1]:1880/link/callback'));
    assert.ok(!isLoopbackRedirect('http://192.168.1.20:1880/link/callback'));
  });

  it('languages: the first wanted one spoken, by region or exactly; catalogs complete in every language', () => {
    // Express turns Accept-Language into this list (the page tests send real headers with q-values).
    assert.equal(matchLanguage([]), 'en-US');
    assert.equal(matchLanguage(['de-AT']), 'de');
    assert.equal(matchLanguage(['pt-BR', 'es', 'fr']), 'es');
    assert.equal(matchLanguage(['*']), 'en-US');
    assert.equal(matchLanguage(['en-GB', 'de']), 'en-US');
    const keys = (value: unknown, prefix = ''): string[] =>
      value && typeof value === 'object'
        ? Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k))
        : [prefix];
    const read = (language: string): unknown => JSON.parse(readFileSync(path.join(ROOT, 'locales', language, 'pairing.json'), 'utf8'));
    const english = keys(read('en-US')).sort();
    for (const language of PAGE_LANGUAGES) {
      assert.deepEqual(keys(read(language)).sort(), english, language);
      const placeholders = (text: string) => [...text.matchAll(/__\w+?__/g)].map((m) => m[0]).sort();
      const catalog = loadPageCatalogs(path.join(ROOT, 'locales'));
      for (const key of english) {
        const raw = (k: string, l: string) => k.split('.').reduce<unknown>((n, p) => (n as Record<string, unknown>)?.[p], read(l)) as string;
        assert.deepEqual(placeholders(raw(key, language)), placeholders(raw(key, 'en-US')), `${language} ${key}`);
        assert.ok(catalog.has(language, key));
      }
    }
  });

  it('finds the catalogs beside the built file (dist/nodes/locales) and beside the sources (locales/)', () => {
    const temp = mkdtempSync(path.join(os.tmpdir(), 'account-link-locales-'));
    try {
      mkdirSync(path.join(temp, 'dist/web'), { recursive: true });
      mkdirSync(path.join(temp, 'dist/nodes/locales/en-US'), { recursive: true });
      writeFileSync(path.join(temp, 'dist/nodes/locales/en-US/pairing.json'), '{"title":"built"}');
      assert.equal(findLocalesFolder(path.join(temp, 'dist/web')), path.join(temp, 'dist/nodes/locales'));
      assert.equal(loadPageCatalogs(path.join(temp, 'dist/nodes/locales')).translator('de')('title'), 'built', 'de falls back to en-US');
      assert.equal(findLocalesFolder(path.join(temp, 'elsewhere/deep')), null);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
    assert.equal(findLocalesFolder(path.join(ROOT, 'src/web')), path.join(ROOT, 'locales'));
    assert.equal(loadPageCatalogs(null).translator('en-US')('title'), 'title', 'no catalogs: keys, not a crash');
  });

  it('escapes every HTML-special character; CSP has no script source and only hashed style', () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\``), '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;');
    assert.equal(escapeHtml(null), '');
    const csp = contentSecurityPolicy(['https://accounts.spotify.com', 'http://192.168.1.5:8080', "http://x' 'unsafe-inline"]);
    assert.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src 'self' data:; form-action 'self' https: http:\/\/192\.168\.1\.5:8080; base-uri 'none'; frame-ancestors 'none'$/);
    assert.doesNotMatch(csp, /script-src|unsafe/);
  });

  it('the relay page’s CSP hashes match its inline script and style', () => {
    const html = readFileSync(path.join(ROOT, 'docs/relay/index.html'), 'utf8');
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const script = html.match(/<script>([\s\S]*?)<\/script>/)![1];
    const style = html.match(/<style>([\s\S]*?)<\/style>/)![1];
    const csp = html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/)![1];
    assert.ok(csp.includes(`script-src ${sha(script)}`), 'script hash');
    assert.ok(csp.includes(`style-src ${sha(style)}`), 'style hash');
    assert.match(csp, /default-src 'none'/);
  });

  it('mDNS: advertises _http._tcp with TXT path=<root>link, and withdraws it', async () => {
    const calls: string[] = [];
    const published: unknown[] = [];
    const bonjour: BonjourPublisher = {
      publish(service) {
        published.push(service);
        return { stop: (done?: () => void) => (calls.push('stop'), done?.()) };
      },
      destroy: (done) => (calls.push('destroy'), done?.()),
    };
    const advert = advertisePairingPage({ port: 1880, httpNodeRoot: 'red', name: 'Hub pairing', bonjour });
    assert.deepEqual(published, [{ name: 'Hub pairing', type: 'http', port: 1880, txt: { path: '/red/link' } }]);
    await advert.stop();
    await advert.stop();
    assert.deepEqual(calls, ['stop'], 'a borrowed bonjour instance is not destroyed; stop is idempotent');
    const byDefault = advertisePairingPage({ port: 1880, bonjour });
    assert.equal(byDefault.service.txt.path, '/link');
    assert.match(byDefault.service.name, /^Account link on /);
  });
});
