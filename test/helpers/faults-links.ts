/** Link definitions and linking steps shared by the fault-injection cases. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { TokenStore, type Account, type TokenSet } from '../../src/core/index.js';
import type { FaultNodeRed } from './faults-node-red.js';
import type { FaultProxy } from './faults-proxy.js';
import type { TestProvider } from '../../demo/sign-in-server.js';

/** An `oidc` link whose token, device and userinfo endpoints go through `proxy`. */
export function proxiedOidcLink(id: string, slug: string, provider: TestProvider, proxy: FaultProxy, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 'account-link',
    name: slug,
    link: slug,
    provider: 'oidc',
    issuer: provider.issuer,
    tokenEndpoint: `${proxy.origin}/token`,
    deviceAuthorizationEndpoint: `${proxy.origin}/device/auth`,
    userinfoEndpoint: `${proxy.origin}/me`,
    revocationEndpoint: `${proxy.origin}/token/revocation`,
    clientId: provider.clientId,
    scope: 'openid profile offline_access',
    flow: 'device',
    ...extra,
  };
}

/** Links `id` through the admin API and the provider's device page. */
export async function linkByDevice(red: FaultNodeRed, id: string, provider: TestProvider, accountId = 'alice'): Promise<any> {
  const started = await red.admin('POST', `account-link/${id}/start`);
  assert.equal(started.status, 200, started.text);
  assert.equal(started.body.data.state, 'pending');
  await provider.approveDevice(started.body.data.user_code, { accountId });
  // The engine polls every 5 s (RFC 8628 default).
  return red.waitFor(id, (s) => s.state === 'linked', 30_000);
}


/** Writes a link's tokens into `<userDir>/account-link/` before Node-RED starts. */
export async function seedLink(userDir: string, id: string, tokens: Partial<TokenSet> & { accessToken: string }, account: Account | null = null): Promise<void> {
  const store = await TokenStore.open(path.join(userDir, 'account-link'));
  const now = Date.now();
  await store.write(id, {
    tokens: {
      tokenType: 'bearer',
      expiresAt: now + 3600_000,
      refreshToken: null,
      scope: null,
      obtainedAt: now,
      refreshExpiresAt: null,
      ...tokens,
    },
    account,
    problem: null,
  });
}

/** The `account-link-mqtt` node all fault flows share. */
export function mqttNode(id: string, brokerUrl: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type: 'account-link-mqtt',
    name: 'broker',
    broker: brokerUrl,
    clientId: `faults-${id}`,
    protocolVersion: '5',
    baseTopic: 'account-link',
    discovery: true,
    discoveryPrefix: 'homeassistant',
    fieldTopics: true,
    keepalive: '10',
    ...extra,
  };
}
