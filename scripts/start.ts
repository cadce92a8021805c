/**
 * `npm start`: Node-RED 4 with this package loaded from the working tree, a user directory
 * `./.node-red`, an embedded MQTT broker (unless MQTT_URL is set) and a demo authorization server
 * on loopback, so linking can be tried end to end with no account anywhere. Ctrl-C stops it all.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { startTestProvider } from '../test/helpers/oidc-server.js';
import { demoFlow } from './demo-flow.js';

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.node-red');

async function freePort(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 50; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe: Server = createServer()
        .once('error', () => resolve(false))
        .listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`No free port near ${preferred}`);
}

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

function linkPackageInto(dir: string): void {
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const target = path.join(modules, 'node-red-contrib-account-link');
  rmSync(target, { recursive: true, force: true });
  symlinkSync(root, target, 'dir');
}

async function main(): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  linkPackageInto(userDir);

  const provider = await startTestProvider({ port: await freePort(9090), interactive: true });
  const broker = process.env.MQTT_URL ? undefined : await startBroker(await freePort(1883));
  const mqttUrl = process.env.MQTT_URL ?? broker!.url;
  const uiPort = await freePort(Number(process.env.PORT) || 1880);

  const flowFile = path.join(userDir, 'flows.json');
  if (!existsSync(flowFile)) {
    writeFileSync(flowFile, JSON.stringify(demoFlow({ issuer: provider.issuer, clientId: provider.clientId, mqttUrl }), null, 2));
  }
  writeFileSync(
    path.join(userDir, 'settings.js'),
    `module.exports = ${JSON.stringify(
      { uiPort, uiHost: '0.0.0.0', flowFile: 'flows.json', credentialSecret: 'account-link-demo', logging: { console: { level: 'info' } } },
      null,
      2,
    )};\n`,
  );

  const red = spawn(
    process.execPath,
    [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')],
    { stdio: 'inherit' },
  );

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
