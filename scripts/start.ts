/**
 * `npm start`: Node-RED 4 with this package loaded from the working tree, a user directory
 * `./.node-red`, an embedded MQTT broker (unless MQTT_URL is set) and a demo authorization server
 * on loopback, so linking can be tried end to end with no account anywhere. Ctrl-C stops it all.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startTestProvider } from '../demo/sign-in-server.js';
import { demoFlow } from './demo-flow.js';
import { freePort, packageRoot, prepareUserDir, spawnNodeRed } from './node-red-home.js';

const userDir = path.join(packageRoot, '.node-red');

async function startBroker(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => broker.close(() => resolve()));
      }),
  };
}

async function main(): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  const provider = await startTestProvider({ port: await freePort(9090), interactive: true });
  const broker = process.env.MQTT_URL ? undefined : await startBroker(await freePort(1883));
  const mqttUrl = process.env.MQTT_URL ?? broker!.url;
  const uiPort = await freePort(Number(process.env.PORT) || 1880);

  const flowFile = path.join(userDir, 'flows.json');
  if (!existsSync(flowFile)) {
    writeFileSync(flowFile, JSON.stringify(demoFlow({ issuer: provider.issuer, clientId: provider.clientId, mqttUrl }), null, 2));
  }
  const settingsFile = prepareUserDir(userDir, {
    uiPort,
    uiHost: '0.0.0.0',
    flowFile: 'flows.json',
    credentialSecret: 'account-link-demo',
    logging: { console: { level: 'info' } },
  });
  const red = spawnNodeRed(userDir, settingsFile);

  console.log(`
  account-link demo
  ─────────────────
  Node-RED editor:      http://127.0.0.1:${uiPort}/
  Demo sign-in server:  ${provider.issuer}  (sign in with any user name and password)
  MQTT broker:          ${mqttUrl}${broker ? ' (embedded)' : ''}

  In the editor, click the inject button "link" (or open the "Demo account" config node and press
  "Link account"), open the URL it shows, enter the code and approve. Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    red.kill('SIGINT');
    await Promise.allSettled([provider.close(), broker?.close()]);
    process.exit(code);
  };
  red.on('exit', (code) => void stop(code ?? 0));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
