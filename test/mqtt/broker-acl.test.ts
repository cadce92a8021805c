/**
 * The README's "Securing the broker": mosquitto run with the shipped ACL file
 * (examples/mosquitto/acl) and a password file for its three users. A display may read
 * everything and command nothing; Home Assistant may command; the hub publishes as before.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { MqttPublisher, type RequestReply } from '../../src/mqtt/index.js';
import { makeLink, type Observer, reaches, tempDir, useMosquitto, whenState } from './links.js';

const ACL_FILE = path.resolve(__dirname, '../../examples/mosquitto/acl');
const B = 'account-link';
const PASSWORDS = { hub: 'hub-pw-7f3a', homeassistant: 'ha-pw-19c2', display: 'display-pw-e04b' };
type User = keyof typeof PASSWORDS;

/** A mosquitto password-file line (`$6$`: SHA-512 of password then salt, both base64), as mosquitto_passwd writes it. */
function passwordLine(user: string, password: string): string {
  const salt = randomBytes(12);
  const hash = createHash('sha512').update(password).update(salt).digest();
  return `${user}:$6$${salt.toString('base64')}$${hash.toString('base64')}`;
}

describe('securing the broker: mosquitto with the example ACL', function () {
  const mosquitto = useMosquitto(async () => {
    const passwordFile = path.join(await tempDir(), 'passwords');
    writeFileSync(passwordFile, `${Object.entries(PASSWORDS).map(([user, pw]) => passwordLine(user, pw)).join('\n')}\n`, { mode: 0o600 });
    // Started as root, mosquitto drops to its own user before reading these files; keep it able to.
    const asRoot = process.getuid?.() === 0 ? ['user root'] : [];
    return { config: [...asRoot, 'allow_anonymous false', `password_file ${passwordFile}`, `acl_file ${ACL_FILE}`] };
  });
  let publisher: MqttPublisher | undefined;

  afterEach(async () => {
    await publisher?.close();
    publisher = undefined;
  });

  const as = (user: User, topics: string[]): Promise<Observer> =>
    mosquitto.observe(topics, { username: user, password: PASSWORDS[user] });

  it('lets a display read the link but not revoke it, while Home Assistant commands and the hub publishes', async () => {
    const { link } = await makeLink('den', { linked: true });
    publisher = new MqttPublisher({ broker: mosquitto.broker.url, protocolVersion: 5, username: 'hub', password: PASSWORDS.hub });
    publisher.register(link);
    await reaches(publisher, 'connected');

    const display = await as('display', [`${B}/#`]);
    const ha = await as('homeassistant', [`${B}/den/response/+`, 'homeassistant/device/+/config']);
    await display.waitFor((m) => m.topic === `${B}/den/link_state` && m.text === 'linked', 'the retained link state');
    await ha.waitFor((m) => m.topic === 'homeassistant/device/account_link_den/config' && m.text !== '', 'the discovery config');

    // The display tries to revoke: mosquitto refuses the publish (MQTT 5 reason code 135, not authorized).
    await assert.rejects(
      display.client.publishAsync(`${B}/den/request/revoke`, '{"transaction":"display"}', { qos: 1 }),
      (err: Error & { code?: number }) => err.code === 135,
    );
    await assert.rejects(
      display.client.publishAsync(`${B}/den/state`, '{"state":"unlinked"}', { qos: 1, retain: true }),
      (err: Error & { code?: number }) => err.code === 135,
      'nor can it fake the state',
    );

    // Home Assistant may command: start, then cancel, each answered; the display sees every state the hub publishes.
    await ha.client.publishAsync(`${B}/den/request/start`, '{"transaction":"ha-start"}', { qos: 1 });
    await display.waitFor((m) => m.topic === `${B}/den/link_state` && m.text === 'pending', 'pending from the hub');
    const sincePending = display.messages.length;
    await ha.client.publishAsync(`${B}/den/request/cancel`, '{"transaction":"ha-cancel"}', { qos: 1 });
    await whenState(link, 'linked');
    await ha.waitFor((m) => m.text.includes('"ha-cancel"'), 'the cancel reply');
    await display.waitFor(
      (m) => display.messages.indexOf(m) >= sincePending && m.topic === `${B}/den/link_state` && m.text === 'linked',
      'linked again, from the hub',
    );

    assert.deepEqual(
      ha.messages.filter((m) => m.topic.includes('/response/')).map((m) => [m.topic, (JSON.parse(m.text) as RequestReply).transaction]),
      [
        [`${B}/den/response/start`, 'ha-start'],
        [`${B}/den/response/cancel`, 'ha-cancel'],
      ],
      'no reply to the display\'s revoke: it never reached the hub',
    );
    assert.equal(link.snapshot().state, 'linked');
    assert.equal(link.snapshot().account?.name, 'Alice');
  });
});
