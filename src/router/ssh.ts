import { createHash } from 'node:crypto';
import type { Client, ConnectConfig } from 'ssh2';
import { RouterConnectionError, RouterError } from '../errors';

/**
 * How to log in. ssh2 offers what it is given in its own fixed order: the password, then the key file,
 * then the agent's keys (after a "none" probe).
 */
export interface RouterAuth {
  privateKey?: Buffer;
  passphrase?: string;
  agent?: string;
  password?: string;
}

export interface RouterAddress {
  host: string;
  port: number;
  user: string;
}

/**
 * Host key pinning: a pinned fingerprint must match; an unknown key is accepted only when `acceptNew` says
 * so (--accept-new-host-key, or the operator confirmed the fingerprint).
 */
export interface HostKeyPolicy {
  pinned?: string;
  acceptNew: (fingerprint: string) => Promise<boolean>;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The SHA256 fingerprint of a raw SSH public key blob, as `ssh-keygen -l` prints it. */
export function hostKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export const where = (a: RouterAddress) => `${a.user}@${a.host}:${a.port}`;

/** Signal numbers as Linux (the router's kernel) has them, for a shell's exit status of 128 + N. */
const LINUX_SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
};

/** The signal that ended a command whose shell reported exit status `code` (128 + N), if any. */
export function signalOfExitStatus(code: number): string | undefined {
  return code > 128 ? LINUX_SIGNALS[code - 128] : undefined;
}

/** "killed by SIGKILL (…)": what a person needs to know about a command ended by a signal. */
export function describeSignal(signal: string, note?: string): string {
  const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  const why =
    name === 'SIGKILL'
      ? 'on a router usually the out-of-memory killer: free memory (stop services, reboot it) and run again'
      : note;
  return `killed by ${name}${why ? ` (${why})` : ''}`;
}

/** An open SSH connection to a router; every `exec` is one round trip. */
export class RouterSession {
  roundTrips = 0;
  private closed = false;
  /** Why the connection failed, when ssh2 said (a reset, a keepalive timeout). */
  private fault: string | undefined;
  private readonly closeWaiters: (() => void)[] = [];

  constructor(
    private readonly client: Client,
    readonly address: RouterAddress,
    readonly fingerprint: string,
  ) {
    client.on('error', (error: SshError) => {
      this.fault ??= describeConnectError(error);
    });
    client.on('close', () => {
      this.closed = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when the connection ends (a reboot or network restart cut it). */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  private lost(step: string, message: string, cause?: unknown): RouterConnectionError {
    const why = this.fault ? ` (${this.fault})` : '';
    return new RouterConnectionError(`${where(this.address)}: ${step}: ${message}${why}`, {
      host: this.address.host,
      step,
      cause,
    });
  }

  /**
   * Runs `command` on the router with `stdin` as its input. A lost connection or no answer within
   * `timeoutMs` is a RouterConnectionError; a command ended by a signal (no exit status) a RouterError
   * naming the signal.
   */
  exec(command: string, step: string, stdin?: string, timeoutMs = 120_000): Promise<ExecResult> {
    this.roundTrips += 1;
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const waiting = this.closeWaiters.indexOf(finish);
        if (waiting >= 0) this.closeWaiters.splice(waiting, 1);
        outcome();
      };
      let stdout = '';
      let stderr = '';
      let exit: { code: number } | { signal: string; message?: string } | undefined;
      const finish = () =>
        settle(() => {
          if (exit === undefined) {
            // No exit status: the connection went away under the command (a restart or reboot cut it).
            reject(this.lost(step, 'the connection dropped before the command finished'));
          } else if ('signal' in exit) {
            reject(
              new RouterError(
                `${where(this.address)}: ${step}: ${describeSignal(exit.signal, exit.message)}`,
                {
                  host: this.address.host,
                  step,
                },
              ),
            );
          } else resolve({ code: exit.code, stdout, stderr });
        });
      if (this.closed) return settle(() => reject(this.lost(step, 'the connection is closed')));
      timer = setTimeout(() => {
        settle(() => reject(this.lost(step, `no answer within ${Math.round(timeoutMs / 1000)}s`)));
        // A router that stopped answering mid-command: drop the connection rather than leave it hanging.
        this.client.destroy();
      }, timeoutMs);
      this.closeWaiters.push(finish);
      this.client.exec(command, (error, channel) => {
        if (error) return settle(() => reject(this.lost(step, error.message, error)));
        channel.on('data', (c: Buffer) => {
          stdout += c.toString('utf8');
        });
        channel.stderr.on('data', (c: Buffer) => {
          stderr += c.toString('utf8');
        });
        channel.on('exit', (code: number | null, signal?: string, _core?: boolean, message?: string) => {
          exit = typeof code === 'number' ? { code } : { signal: signal ?? 'an unknown signal', message };
        });
        channel.on('close', finish);
        channel.end(stdin ?? '');
      });
    });
  }

  /**
   * Closes the connection at once. Not ssh2's `end()`: to a router whose address just moved it would leave
   * a half-closed socket waiting for an answer that never comes, keeping wavectl from exiting.
   */
  close(): void {
    if (!this.closed) this.client.destroy();
  }
}

type SshError = Error & { code?: string; level?: string };

function describeConnectError(error: SshError): string {
  if (error.level === 'client-authentication') {
    return 'authentication failed: set WAVECTL_ROUTER_PASSWORD, pass --identity <key file>, or load a key into ssh-agent';
  }
  if (error.code === 'ECONNREFUSED') return 'connection refused (is SSH enabled on the router?)';
  if (error.code === 'ECONNRESET') return 'the connection was reset';
  if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') return 'no route to the router';
  if (/Timed out/i.test(error.message))
    return 'no answer (timed out): check the address and that you are on its LAN';
  if (/Keepalive timeout/i.test(error.message)) return 'the router stopped answering (keepalive timed out)';
  if (/lost before handshake/i.test(error.message)) return 'the connection was lost before the SSH handshake';
  return error.message;
}

/**
 * Opens an SSH connection with ssh2, checking the host key against the pin before authenticating. Every
 * failure is a RouterError (a RouterConnectionError when the connection itself failed); nothing is left
 * to be thrown later: ssh2 raises a second `error` when a connection fails after TCP connected but before
 * the handshake, and may raise more after login, so the listener stays for the connection's life.
 */
export async function connectRouter(
  address: RouterAddress,
  auth: RouterAuth,
  hostKey: HostKeyPolicy,
  timeoutMs = 15_000,
): Promise<RouterSession> {
  const ssh2 = await import('ssh2');
  const ClientClass = (ssh2.default ?? ssh2).Client;
  const client = new ClientClass();
  let offered: string | undefined;
  let refusal: RouterError | undefined;
  const config: ConnectConfig = {
    host: address.host,
    port: address.port,
    username: address.user,
    readyTimeout: timeoutMs,
    keepaliveInterval: 5000,
    keepaliveCountMax: 3,
    ...(auth.privateKey ? { privateKey: auth.privateKey, passphrase: auth.passphrase } : {}),
    ...(auth.agent ? { agent: auth.agent } : {}),
    ...(auth.password !== undefined ? { password: auth.password } : {}),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      offered = hostKeyFingerprint(key);
      if (hostKey.pinned !== undefined) {
        if (offered === hostKey.pinned) return verify(true);
        refusal = new RouterError(
          `${where(address)}: the router's SSH host key changed: pinned ${hostKey.pinned}, offered ${offered}. ` +
            'Refusing to connect (possible impersonation). If the router was reset or replaced, remove ' +
            'router.hostKey of this site from wavectl.json and run again',
          { host: address.host, step: 'host key' },
        );
        return verify(false);
      }
      hostKey.acceptNew(offered).then(
        (ok) => {
          if (!ok) {
            refusal = new RouterError(
              `${where(address)}: unknown SSH host key ${offered}; compare it with the router, then run again with --accept-new-host-key (or answer yes at the prompt)`,
              { host: address.host, step: 'host key' },
            );
          }
          verify(ok);
        },
        () => verify(false),
      );
    },
  } as ConnectConfig;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const failed = (error?: SshError) => {
      if (refusal) return refusal;
      const message = `cannot reach the router at ${where(address)}: ${error ? describeConnectError(error) : 'the connection closed before login'}`;
      const options = { host: address.host, step: 'connect', cause: error };
      return error?.level === 'client-authentication'
        ? new RouterError(message, options)
        : new RouterConnectionError(message, options);
    };
    client.on('error', (error: SshError) =>
      settle(() => {
        client.destroy();
        reject(failed(error));
      }),
    );
    client.once('close', () => settle(() => reject(failed())));
    client.once('ready', () => settle(() => resolve(new RouterSession(client, address, offered ?? ''))));
    try {
      client.connect(config);
    } catch (error) {
      // ssh2 throws at once for a key it cannot read (wrong passphrase, unknown format).
      settle(() =>
        reject(
          new RouterError(`cannot use the key to log in to ${where(address)}: ${(error as Error).message}`, {
            host: address.host,
            step: 'connect',
            cause: error,
          }),
        ),
      );
    }
  });
}
