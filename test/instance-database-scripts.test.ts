import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderControllerKeyUpdate } from '../src/api-key/rotate';
import { renderInstanceDumpScript, renderInstanceRestoreScript } from '../src/backup/instance-database';
import { makeTempDir } from './helpers/tmp';

/**
 * The scripts `backup`, `restore --database` and `api-key rotate` send to a deployed controller, run by dash as the SSM agent
 * runs them, with stand-ins for the AWS CLI (a directory as the bucket), runuser, pg_dump, pg_restore and
 * systemctl that record what they were asked.
 */
describe('the controller instance database scripts under dash', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let env: NodeJS.ProcessEnv;
  const log = () => readFile(join(tmp.path, 'calls'), 'utf8').then((t) => t.trim().split('\n'));

  beforeAll(async () => {
    tmp = await makeTempDir();
    const bin = join(tmp.path, 'bin');
    await mkdir(bin);
    await mkdir(join(tmp.path, 'bucket'));
    const tools: Record<string, string> = {
      aws: [
        'echo "aws $*" >> "$STATE/calls"',
        'if [ "$1 $2" = "ssm get-parameter" ]; then echo "$NEW_KEY"; exit 0; fi',
        'src=$6; dst=$7',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
        'case "$src" in s3://*) cp "$STATE/bucket/${src##*/}" "$dst" ;; *) cp "$src" "$STATE/bucket/${dst##*/}" ;; esac',
      ].join('\n'),
      runuser: 'echo "runuser $1 $2" >> "$STATE/calls"; shift 3; exec "$@"',
      pg_dump: 'echo "pg_dump $*" >> "$STATE/calls"; printf "PGDMP-custom-format-bytes"',
      pg_restore:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
        'echo "pg_restore $*" >> "$STATE/calls"; cat > "$STATE/restored"; exit "${PG_RESTORE_EXIT:-0}"',
      systemctl: 'echo "systemctl $*" >> "$STATE/calls"',
    };
    for (const [name, body] of Object.entries(tools)) {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    }
    env = { PATH: `${bin}:/usr/bin:/bin`, STATE: tmp.path };
  });
  afterAll(() => tmp?.remove());

  it('dumps in custom format as postgres and carries the dump through the bucket', async () => {
    const out = execFileSync('dash', ['-c', renderInstanceDumpScript('bkt', 'backups/c.dump', 'eu-west-1')], {
      env,
    }).toString();
    expect(out).toBe('WAVESHIFT-DUMP-BYTES 25\n');
    expect(await readFile(join(tmp.path, 'bucket', 'c.dump'), 'utf8')).toBe('PGDMP-custom-format-bytes');
    expect(await log()).toEqual([
      'runuser -u postgres',
      'pg_dump --format=custom --no-owner waveshift',
      expect.stringMatching(
        /^aws s3 cp --only-show-errors --region eu-west-1 \/tmp\/tmp\.\w+ s3:\/\/bkt\/backups\/c\.dump$/,
      ),
    ]);
  });

  it('restores with the controller stopped, as the application role, in one transaction, and starts it again', async () => {
    await writeFile(join(tmp.path, 'calls'), '');
    await writeFile(join(tmp.path, 'bucket', 'r.dump'), 'PGDMP-archive');
    const script = renderInstanceRestoreScript('bkt', 'restores/r.dump', 'eu-west-1');
    const out = execFileSync('dash', ['-c', script], { env }).toString();
    expect(out).toBe('WAVESHIFT-RESTORED\n');
    expect(await readFile(join(tmp.path, 'restored'), 'utf8')).toBe('PGDMP-archive');
    const calls = await log();
    expect(calls.slice(1)).toEqual([
      'systemctl stop waveshift-controller',
      'runuser -u postgres',
      'pg_restore --clean --if-exists --no-owner --role=waveshift --single-transaction -d waveshift',
      'systemctl start waveshift-controller',
    ]);
  });

  it('starts the controller again and reports failure when pg_restore fails', async () => {
    await writeFile(join(tmp.path, 'calls'), '');
    const run = spawnSync(
      'dash',
      ['-c', renderInstanceRestoreScript('bkt', 'restores/r.dump', 'eu-west-1')],
      {
        env: { ...env, PG_RESTORE_EXIT: '1' },
      },
    );
    expect(run.status).not.toBe(0);
    expect(run.stdout.toString()).not.toContain('WAVESHIFT-RESTORED');
    expect((await log()).at(-1)).toBe('systemctl start waveshift-controller');
  });

  it('api-key rotate: rewrites the env file and the relay header with the key from SSM, mode 600, nothing else', async () => {
    const etc = join(tmp.path, 'etc-waveshift');
    await mkdir(etc);
    await writeFile(
      join(etc, 'controller.env'),
      'WAVESHIFT_API_KEY=old-key_0123\nDATABASE_URL=postgresql://waveshift@/waveshift?host=/run/postgresql\nPORT=8080\n',
    );
    await writeFile(join(etc, 'api-key-header'), 'X-API-Key: old-key_0123\n');
    const script = renderControllerKeyUpdate('/waveshift/acme/api-key', 'eu-west-1', etc);
    expect(script).not.toContain('new-KEY_abc-123');
    execFileSync('dash', ['-c', script], { env: { ...env, NEW_KEY: 'new-KEY_abc-123' } });
    expect(await readFile(join(etc, 'api-key-header'), 'utf8')).toBe('X-API-Key: new-KEY_abc-123\n');
    expect(await readFile(join(etc, 'controller.env'), 'utf8')).toBe(
      'WAVESHIFT_API_KEY=new-KEY_abc-123\nDATABASE_URL=postgresql://waveshift@/waveshift?host=/run/postgresql\nPORT=8080\n',
    );
    const { statSync, readdirSync } = await import('node:fs');
    expect(statSync(join(etc, 'controller.env')).mode & 0o777).toBe(0o600);
    expect(readdirSync(etc).sort()).toEqual(['api-key-header', 'controller.env']);
    // An empty answer from SSM changes nothing.
    const failed = spawnSync('dash', ['-c', script], { env: { ...env, NEW_KEY: '' } });
    expect(failed.status).not.toBe(0);
    expect(await readFile(join(etc, 'api-key-header'), 'utf8')).toBe('X-API-Key: new-KEY_abc-123\n');
  });
});
