import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/**
 * `npm start` as a person runs it (scripts/start.ts after `npm run build`), in its own user
 * directory and on the editor port asked for. Resolves once it has printed the editor's address.
 */
export class DemoProcess {
  /** Everything it printed, stdout and stderr in arrival order. */
  output = '';
  /** The editor's address as printed, without the trailing slash. */
  base = '';
  /** The demo sign-in server's address as printed. */
  issuer = '';
  readonly userDir = mkdtempSync(path.join(os.tmpdir(), 'account-link-demo-'));
  private child: ChildProcess | undefined;

  async start(port: number): Promise<void> {
    // Its own embedded broker, whatever the shell running the tests says.
    const { MQTT_URL: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/start.ts')], {
      cwd: root,
      env: { ...env, PORT: String(port), ACCOUNT_LINK_DEMO_DIR: this.userDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const printed = new Promise<void>((resolve, reject) => {
      const read = (chunk: Buffer): void => {
        this.output += chunk.toString();
        const editor = /Node-RED editor:\s+(\S+)/.exec(this.output);
        const issuer = /Demo sign-in server:\s+(\S+)/.exec(this.output);
        if (editor && issuer) {
          this.base = editor[1]!.replace(/\/$/, '');
          this.issuer = issuer[1]!;
          resolve();
        }
      };
      child.stdout!.on('data', read);
      child.stderr!.on('data', read);
      child.once('exit', (code) => reject(new Error(`npm start ended (${code}) before printing the editor's address:\n${this.output}`)));
    });
    await printed;
  }

  /** How many lines of the output match `pattern`. */
  count(pattern: RegExp): number {
    return this.output.split('\n').filter((line) => pattern.test(line)).length;
  }

  /** Ctrl-C, as a person stops it; waits until it has exited and removes its user directory. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    rmSync(this.userDir, { recursive: true, force: true });
  }
}
