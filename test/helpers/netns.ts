import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { captureOutput } from './child-output';

const run = promisify(execFile);

export type NetnsSupport = { ok: true } | { ok: false; reason: string };

let support: NetnsSupport | undefined;

/** Whether this machine lets the tests make network namespaces: root, iproute2, and a kernel that allows it. */
export function netnsSupport(): NetnsSupport {
  if (support) return support;
  if (process.getuid?.() !== 0) {
    support = { ok: false, reason: 'not running as root: network namespaces need root' };
    return support;
  }
  const probe = `wvprobe${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    support = { ok: true };
  } catch (error) {
    support = {
      ok: false,
      reason: `cannot create a network namespace: ${(error as Error).message.split('\n')[0]}`,
    };
  }
  return support;
}

/** `describe` that runs only where namespaces work, and otherwise says why it was skipped. */
export function describeWithNetns(title: string, body: () => void): void {
  const s = netnsSupport();
  if (!s.ok) console.warn(`skipped "${title}": ${s.reason}`);
  describe.skipIf(!s.ok)(title, body);
}

let counter = 0;

/**
 * A set of test hosts, each its own network namespace, joined by veth links. Everything it makes is removed
 * by `cleanup`, including processes still running inside the namespaces. Traffic stays inside them.
 */
export class NetLab {
  private readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private links = 0;

  constructor(label = 'lab') {
    counter += 1;
    this.prefix = `wv${process.pid % 100000}${counter}${label}`.slice(0, 20);
  }

  /** Creates a host (namespace) with loopback up and returns its namespace name. */
  async host(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Joins two hosts with a veth pair created directly inside them (no name clash in the root namespace),
   * gives each end its address (CIDR) and brings both up. Returns the interface names.
   */
  async link(
    a: string,
    aAddress: string | undefined,
    b: string,
    bAddress: string | undefined,
  ): Promise<{ aIf: string; bIf: string }> {
    this.links += 1;
    const aIf = `veth${this.links}a`;
    const bIf = `veth${this.links}b`;
    await run('ip', ['link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
    for (const [ns, dev, address] of [
      [a, aIf, aAddress],
      [b, bIf, bAddress],
    ] as const) {
      if (address) await this.exec(ns, ['ip', 'addr', 'add', address, 'dev', dev]);
      await this.exec(ns, ['ip', 'link', 'set', dev, 'up']);
    }
    return { aIf, bIf };
  }

  /** Runs a command inside a host and returns its output; rejects on a non-zero exit. */
  async exec(
    ns: string,
    argv: string[],
    options?: { input?: string; env?: NodeJS.ProcessEnv },
  ): Promise<{ stdout: string; stderr: string }> {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('empty command');
    if (options?.input !== undefined) {
      return new Promise((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { env: options.env ?? process.env });
        const output = captureOutput(child);
        child.on('close', (code) =>
          code === 0
            ? resolve({ ...output })
            : reject(new Error(`${argv.join(' ')} in ${ns} exited ${code}: ${output.stderr}`)),
        );
        child.stdin.end(options.input);
      });
    }
    return run('ip', ['netns', 'exec', ns, cmd, ...args], {
      env: options?.env ?? process.env,
      maxBuffer: 16 << 20,
    });
  }

  /** Starts a long-running process inside a host; it is killed by `cleanup`. */
  spawn(ns: string, argv: string[], options?: SpawnOptions): ChildProcess {
    const [cmd, ...args] = argv;
    if (!cmd) throw new Error('empty command');
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore', ...options });
    this.children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0)) {
      try {
        const { stdout } = await run('ip', ['netns', 'pids', ns]);
        for (const pid of stdout.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      } catch {
        // namespace already gone
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }
}
