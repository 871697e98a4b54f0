import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './paths';
import { freePort, waitFor } from './ports';

export interface MotoServer {
  endpoint: string;
  port: number;
  /** Forgets every resource: a fresh account state. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** moto_server from the private venv that scripts/setup-test-bed.sh makes, else from PATH. */
export function motoServerBinary(): string {
  if (process.env.MOTO_SERVER) return process.env.MOTO_SERVER;
  const venv = join(repoRoot, '.venv', 'bin', 'moto_server');
  return existsSync(venv) ? venv : 'moto_server';
}

/** Starts a real moto server (AWS API emulator) on a free loopback port; one per test file. */
export async function startMoto(): Promise<MotoServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(motoServerBinary(), ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
    });
    let stderr = '';
    child.stderr?.on('data', (c) => {
      stderr = (stderr + c).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await waitFor(
        'moto server',
        async () => {
          if (child.exitCode !== null) throw new Error(`moto exited: ${stderr}`);
          const res = await fetch(`${endpoint}/moto-api/data.json`);
          if (!res.ok) throw new Error(`status ${res.status}`);
        },
        30_000,
      );
    } catch (error) {
      child.kill('SIGKILL');
      if (attempt < 2) continue;
      throw error;
    }
    return {
      endpoint,
      port,
      async reset() {
        await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      },
      stop: () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        }),
    };
  }
}

/**
 * Writes an AWS shared config and credentials file with one named profile (fake keys moto accepts) and
 * returns the environment that points the SDK at them, so tests exercise the real profile chain.
 */
export async function writeAwsProfile(
  dir: string,
  profile: string,
  region = 'us-east-1',
): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config');
  const credentials = join(dir, 'credentials');
  const section = profile === 'default' ? 'default' : `profile ${profile}`;
  await writeFile(config, `[${section}]\nregion = ${region}\n`);
  await writeFile(
    credentials,
    `[${profile}]\naws_access_key_id = testing\naws_secret_access_key = testing\n`,
    {
      mode: 0o600,
    },
  );
  return {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Applies an environment to this worker's process.env (the SDK reads profile files from there). */
export function applyEnv(env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === '') delete process.env[key];
    else process.env[key] = value;
  }
}
