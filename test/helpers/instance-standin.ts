import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { captureOutput } from './child-output';
import type { NetLab } from './netns';
import { repoRoot } from './paths';
import { waitFor } from './ports';
import { makeTempDir } from './tmp';

const run = promisify(execFile);
const HELPERS = join(repoRoot, 'test', 'helpers', 'instance-standin');
/** Where the stand-in's host directory appears inside the instance. */
const INSIDE = '/run/standin';
/** The PATH systemd gives the SSM agent and cloud-init, and so the scripts they run. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The images wavectl launches: Amazon Linux 2023 (sh is bash, dnf) and Ubuntu (sh is dash, apt-get). */
export type StandInImage = 'amazon-linux-2023' | 'ubuntu-22.04';

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * An EC2 instance played in the test bed: its own network namespace and mount namespace (copy-on-write
 * /etc, /usr, /var, /root, /opt; private /run and /tmp) in which wavectl's user data and SSM commands run
 * as cloud-init and the SSM agent run them. Stand-ins replace only what cannot exist here: the package
 * manager, systemctl/journalctl, the AWS CLI (answered by moto) — see test/helpers/instance-standin/.
 */
export class InstanceStandIn {
  private runs = 0;

  private constructor(
    readonly namespace: string,
    readonly image: StandInImage,
    private readonly dir: { path: string; remove(): Promise<void> },
    private readonly holder: ChildProcess,
    private readonly relay: Server,
  ) {}

  /** Boots a stand-in of `image` as host `name` of `lab`; its AWS CLI talks to the moto at `motoPort`. */
  static async start(lab: NetLab, name: string, image: StandInImage, motoPort: number) {
    const namespace = await lab.host(name);
    const dir = await makeTempDir('wavectl-instance-');
    // The instance's service users (postgres, waveshift) reach the stand-ins through it, as on an image.
    await chmod(dir.path, 0o755);
    const relay = createServer((socket) => {
      const upstream = connect(motoPort, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(join(dir.path, 'aws.sock'), resolve));
    const holder = lab.spawn(
      namespace,
      ['unshare', '-m', '--propagation', 'private', join(HELPERS, 'boot.sh'), dir.path, image, HELPERS],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WAVESHIFT_STANDIN_REPO: repoRoot } },
    );
    let bootErrors = '';
    holder.stderr?.on('data', (c) => {
      bootErrors += c;
    });
    await waitFor(`instance stand-in ${name}`, async () => {
      if (holder.exitCode !== null) throw new Error(`stand-in boot failed: ${bootErrors}`);
      if (!existsSync(join(dir.path, 'ready'))) throw new Error('not ready');
    });
    return new InstanceStandIn(namespace, image, dir, holder, relay);
  }

  /** Runs argv inside the instance (root, the system PATH); never rejects, the exit code tells. */
  exec(argv: string[], options: { cwd?: string } = {}): Promise<ScriptRun> {
    const pid = String(this.holder.pid);
    const env = [
      'env',
      '-i',
      `--chdir=${options.cwd ?? '/'}`,
      `PATH=${SYSTEM_PATH}`,
      'HOME=/root',
      'LANG=C.UTF-8',
    ];
    return new Promise((resolve) => {
      // stdin /dev/null: with a socket there, bash takes itself for an rshd session and reads ~/.bashrc.
      const child = spawn('nsenter', ['-t', pid, '-m', '-n', '--', ...env, ...argv], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
        killSignal: 'SIGKILL',
      });
      const output = captureOutput(child);
      child.on('close', (code) => resolve({ code: code ?? -1, ...output }));
    });
  }

  /** A file of the instance read from inside (so the instance's mounts apply). */
  async readFile(path: string): Promise<string> {
    const out = await this.exec(['cat', path]);
    if (out.code !== 0) throw new Error(`cannot read ${path} on the stand-in: ${out.stderr}`);
    return out.stdout;
  }

  private async placeScript(kind: string, script: string): Promise<string> {
    this.runs += 1;
    const folder = join(this.dir.path, kind, String(this.runs));
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, '_script.sh'), script);
    await chmod(join(folder, '_script.sh'), 0o700);
    return `${INSIDE}/${kind}/${this.runs}`;
  }

  /**
   * As the SSM agent runs an AWS-RunShellScript command: the commands written to `_script.sh` (mode 0700)
   * and run as `sh -c <file>` by root. The kernel honours a `#!` line; without one, `sh` (dash on Ubuntu,
   * bash on Amazon Linux) reads the file itself.
   */
  async runCommand(script: string): Promise<ScriptRun> {
    const folder = await this.placeScript('ssm', script);
    return this.exec(['sh', '-c', `${folder}/_script.sh`], { cwd: folder });
  }

  /**
   * As cloud-init runs user data at first boot: a part that starts with `#!` is executed as a program; any
   * other text is not a script to cloud-init, so a stand-in refusing it is faithful. stdout holds the
   * script's stdout and stderr together, as cloud-init's log does.
   */
  async runUserData(userData: string): Promise<ScriptRun> {
    if (!userData.startsWith('#!')) {
      return { code: 1, stdout: '', stderr: 'cloud-init: user data has no #! line; it would not be run' };
    }
    const folder = await this.placeScript('cloud', userData);
    // Its output goes to /var/log/cloud-init-output.log, and boot-finished marks the end of the boot
    // whatever the script's outcome, as cloud-init does.
    return this.exec(
      [
        'bash',
        '-c',
        'set -o pipefail; "$0" 2>&1 | tee -a /var/log/cloud-init-output.log; rc=$?; mkdir -p /var/lib/cloud/instance; touch /var/lib/cloud/instance/boot-finished; exit $rc',
        `${folder}/_script.sh`,
      ],
      { cwd: '/' },
    );
  }

  /**
   * Makes `https://<hostname>/<file>` answer with `files` inside the instance: a certificate from a CA made
   * here and trusted by the instance, the name in its /etc/hosts, an HTTPS server on its loopback.
   */
  async serveHttps(hostname: string, files: Record<string, Buffer>): Promise<void> {
    const tls = join(this.dir.path, 'tls');
    const served = join(this.dir.path, 'served');
    await mkdir(tls, { recursive: true });
    await mkdir(served, { recursive: true });
    for (const [name, body] of Object.entries(files)) await writeFile(join(served, name), body);
    const openssl = (...args: string[]) => run('openssl', args, { cwd: tls });
    await openssl(
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=stand-in CA'],
    );
    await openssl(
      ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', 'key.pem', '-out', 'req.pem', '-subj', `/CN=${hostname}`],
    );
    await writeFile(join(tls, 'ext.cnf'), `subjectAltName=DNS:${hostname}\n`);
    await openssl(
      ...['x509', '-req', '-in', 'req.pem', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial'],
      ...['-days', '1', '-extfile', 'ext.cnf', '-out', 'cert.pem'],
    );
    const trust = await this.exec([
      'sh',
      '-c',
      `cat ${INSIDE}/tls/ca.pem >> /etc/ssl/certs/ca-certificates.crt && echo '127.0.0.1 ${hostname}' >> /etc/hosts`,
    ]);
    if (trust.code !== 0) throw new Error(`stand-in trust setup failed: ${trust.stderr}`);
    const server = this.spawnNode(join(HELPERS, 'file-server.cjs'), [
      '443',
      `${INSIDE}/tls`,
      `${INSIDE}/served`,
    ]);
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once('data', () => resolve());
      server.once('exit', (code) => reject(new Error(`file server exited ${code}`)));
    });
  }

  /**
   * Starts a Node.js program inside the instance (the host's node, which the image itself lacks): a server
   * that the instance's scripts reach on its loopback. Its stdin, stdout and stderr are the test's.
   */
  spawnNode(script: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    return spawn('nsenter', [
      ...['-t', String(this.holder.pid), '-m', '-n', '--'],
      ...['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
      ...[`${INSIDE}/real/node`, script, ...args],
    ]);
  }

  /** Files the instance has written (its copy-on-write layers, /tmp) that contain `text`, as it names them. */
  async filesWrittenContaining(text: string): Promise<string[]> {
    const roots = ['etc', 'usr', 'var', 'root', 'opt'].map((d) => join(this.dir.path, 'upper', d));
    const found = await run('grep', ['-rlF', '--', text, ...roots, join(this.dir.path, 'tmp')]).catch(
      (error: { code?: number; stdout?: string }) => {
        if (error.code === 1) return { stdout: '' };
        throw error;
      },
    );
    const upper = `${join(this.dir.path, 'upper')}/`;
    return found.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => (f.startsWith(upper) ? `/${f.slice(upper.length)}` : f.replace(this.dir.path, '')));
  }

  async stop(): Promise<void> {
    this.holder.kill('SIGKILL');
    await new Promise<void>((resolve) => this.relay.close(() => resolve()));
    await this.dir.remove().catch(() => undefined);
  }
}
