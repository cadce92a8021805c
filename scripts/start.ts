/**
 * `npm start`: Node-RED 4 with this package loaded from the working tree, a user directory
 * `./.node-red` (or ACCOUNT_LINK_DEMO_DIR), an embedded MQTT broker (unless MQTT_URL is set) and a
 * demo authorization server on loopback, so both ways of linking can be tried end to end with no
 * account anywhere. Ctrl-C stops it all.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { startTestProvider } from '../demo/sign-in-server.js';
import { defaultRedirectUri, loopbackRedirectUri } from '../src/core/index.js';
import { defaultPublicUrl } from '../src/web/index.js';
import { DEMO_ACCOUNTS, demoFlow } from './demo-flow.js';
import { freePort, packageRoot, prepareUserDir, spawnNodeRed } from './node-red-home.js';

const userDir = path.resolve(process.env.ACCOUNT_LINK_DEMO_DIR || path.join(packageRoot, '.node-red'));

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

/**
 * Writes the demo flow on first start. Later starts keep the person's flow and only bring the demo
 * accounts' addresses up to date: the demo server and the editor may have found other free ports.
 */
function writeFlows(flowFile: string, options: Parameters<typeof demoFlow>[0]): void {
  if (!existsSync(flowFile)) {
    writeFileSync(flowFile, JSON.stringify(demoFlow(options), null, 2));
    return;
  }
  const nodes = JSON.parse(readFileSync(flowFile, 'utf8')) as Record<string, unknown>[];
  for (const node of nodes) {
    if (node.id === DEMO_ACCOUNTS.device || node.id === DEMO_ACCOUNTS.pairing) node.issuer = options.issuer;
    if (node.id === DEMO_ACCOUNTS.pairing) node.redirectUri = options.redirectUri;
  }
  writeFileSync(flowFile, JSON.stringify(nodes, null, 2));
}

/** Resolves once the editor answers at `url`, so the address is printed only when it works. */
async function editorAnswers(url: string, running: () => boolean): Promise<void> {
  while (running()) {
    const ok = await fetch(url).then((response) => response.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('Node-RED stopped before its editor answered.');
}

async function main(): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  const uiPort = await freePort(Number(process.env.PORT) || 1880);
  // The hub's callback on loopback (like Spotify: automatic on the hub, the paste step on a phone)
  // and on its LAN address (automatic from a phone too, when the Redirect URI field is emptied).
  const loopback = loopbackRedirectUri(uiPort);
  const lan = defaultRedirectUri(defaultPublicUrl(uiPort) ?? `http://127.0.0.1:${uiPort}`);
  const provider = await startTestProvider({
    port: await freePort(9090),
    interactive: true,
    clientName: 'Node-RED account link demo',
    redirectUris: [...new Set([loopback, lan])],
  });
  const broker = process.env.MQTT_URL ? undefined : await startBroker(await freePort(1883));
  const mqttUrl = process.env.MQTT_URL ?? broker!.url;

  writeFlows(path.join(userDir, 'flows.json'), { issuer: provider.issuer, clientId: provider.clientId, mqttUrl, redirectUri: loopback });
  const settingsFile = prepareUserDir(userDir, {
    uiPort,
    uiHost: '0.0.0.0',
    flowFile: 'flows.json',
    credentialSecret: 'account-link-demo',
    logging: { console: { level: 'info' } },
    // No update-notification question and no welcome tour over the demo on first open.
    telemetry: { enabled: false },
    editorTheme: { tours: false },
  });
  const red = spawnNodeRed(userDir, settingsFile);

  const redExited = new Promise<number>((resolve) => red.once('exit', (code) => resolve(code ?? 0)));
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (red.exitCode === null) red.kill('SIGINT');
    await redExited;
    await Promise.allSettled([provider.close(), broker?.close()]);
    process.exit(code);
  };
  void redExited.then((code) => stop(code));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const editor = `http://127.0.0.1:${uiPort}/`;
  await editorAnswers(editor, () => red.exitCode === null && !stopping);
  console.log(`
  account-link demo
  ─────────────────
  Node-RED editor:      ${editor}
  Demo sign-in server:  ${provider.issuer}  (sign in with any user name and password)
  MQTT broker:          ${mqttUrl}${broker ? ' (embedded)' : ''}

  Two accounts wait on the tab "Account link demo":
  1. Device code: press the button of "link" in the first group, open the address the badge shows,
     enter the code and approve.
  2. Pairing page, like Spotify: press "link" in the second group, open the hub's pairing page,
     enter the code and sign in. On a phone the sign-in ends on an http://127.0.0.1 address that
     does not load: paste it on the pairing page.
  Ctrl-C stops everything.
`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
