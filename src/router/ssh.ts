import { createHash } from 'node:crypto';
import type { Client, ConnectConfig } from 'ssh2';
import { RouterError } from '../errors';

/** How to authenticate: a key file's contents, an agent socket, a password; tried in that order. */
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

/** An open SSH connection to a router; every `exec` is one round trip. */
export class RouterSession {
  roundTrips = 0;
  private closed = false;
  private readonly closeWaiters: (() => void)[] = [];

  constructor(
    private readonly client: Client,
    readonly address: RouterAddress,
    readonly fingerprint: string,
  ) {
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

  /** Runs `command` on the router with `stdin` as its input; the output is capped to keep Dropbear happy. */
  exec(command: string, step: string, stdin?: string, timeoutMs = 120_000): Promise<ExecResult> {
    this.roundTrips += 1;
    return new Promise((resolve, reject) => {
      const fail = (message: string, cause?: unknown) =>
        reject(
          new RouterError(`${where(this.address)}: ${step}: ${message}`, {
            host: this.address.host,
            step,
            cause,
          }),
        );
      const timer = setTimeout(() => {
        // A router that stopped answering mid-command: drop the connection rather than leave it hanging.
        this.client.end();
        fail(`no answer within ${Math.round(timeoutMs / 1000)}s`);
      }, timeoutMs);
      this.client.exec(command, (error, channel) => {
        if (error) {
          clearTimeout(timer);
          return fail(error.message, error);
        }
        let stdout = '';
        let stderr = '';
        let code = -1;
        channel.on('data', (c: Buffer) => {
          stdout += c.toString('utf8');
        });
        channel.stderr.on('data', (c: Buffer) => {
          stderr += c.toString('utf8');
        });
        channel.on('exit', (exitCode: number | null) => {
          code = exitCode ?? -1;
        });
        channel.on('close', () => {
          clearTimeout(timer);
          // No exit status: the connection went away under the command (a restart or reboot cut it).
          if (code === -1) return fail('the connection dropped before the command finished');
          resolve({ code, stdout, stderr });
        });
        channel.end(stdin ?? '');
      });
    });
  }

  close(): void {
    if (!this.closed) this.client.end();
  }
}

function describeConnectError(error: Error & { code?: string; level?: string }): string {
  if (error.level === 'client-authentication') {
    return 'authentication failed: set WAVECTL_ROUTER_PASSWORD, pass --identity <key file>, or load a key into ssh-agent';
  }
  if (error.code === 'ECONNREFUSED') return 'connection refused (is SSH enabled on the router?)';
  if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') return 'no route to the router';
  if (/Timed out/i.test(error.message))
    return 'no answer (timed out): check the address and that you are on its LAN';
  return error.message;
}

/** Opens an SSH connection with ssh2, checking the host key against the pin before authenticating. */
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
    client.once('ready', () => resolve(new RouterSession(client, address, offered ?? '')));
    client.once('error', (error: Error & { code?: string; level?: string }) => {
      client.end();
      reject(
        refusal ??
          new RouterError(`cannot reach the router at ${where(address)}: ${describeConnectError(error)}`, {
            host: address.host,
            step: 'connect',
            cause: error,
          }),
      );
    });
    client.connect(config);
  });
}
