import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildInitialConfig, deriveDeploymentName } from '../src/config/init-deployment';
import { runCli, runCliProcess } from './helpers/cli';
import { repoRoot } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

const BASE = ['init', '--identity-provider', 'local', '--profile', 'acme', '--region', 'eu-west-1'];

describe('wavectl init', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('writes a complete, schema-referencing wavectl.json and prints it', async () => {
    const run = await runCli([...BASE, '--name', 'acme-eu', '--dir', tmp.path], { cwd: '/' });
    expect(run.code).toBe(0);
    const written = JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8'));
    expect(written).toMatchObject({
      version: 1,
      name: 'acme-eu',
      identityProvider: 'local',
      aws: { profile: 'acme', region: 'eu-west-1' },
      instances: {
        controller: { type: 't3a.medium', volumeGb: 20 },
        kasm: { type: 'm6a.2xlarge', volumeGb: 150 },
        accessServer: { type: 't3.micro' },
      },
      sites: [],
      accessServers: [],
    });
    expect(written.$schema).toMatch(/wavectl\.schema\.json$/);
    expect(existsSync(join(tmp.path, written.$schema))).toBe(true);
    expect(run.stdout).toContain('"name": "acme-eu"');
    // The schema sits beside the file, so `$schema` resolves wherever the directory goes.
    expect(written.$schema).toBe('./wavectl.schema.json');
    expect(JSON.parse(await readFile(join(tmp.path, 'wavectl.schema.json'), 'utf8'))).toEqual(
      JSON.parse(await readFile(join(repoRoot, 'wavectl.schema.json'), 'utf8')),
    );
    expect((await readdir(tmp.path)).sort()).toEqual(['wavectl.json', 'wavectl.schema.json']);
  });

  it('derives the name from the directory and prints JSON with --json', async () => {
    await writeFile(join(tmp.path, 'aws-config'), '[profile acme]\nregion = eu-west-1\n');
    const run = await runCli([...BASE, '--json'], {
      cwd: tmp.path,
      env: { AWS_CONFIG_FILE: join(tmp.path, 'aws-config') },
    });
    expect(run.code).toBe(0);
    const result = run.json<{ file: string; config: { name: string } }>();
    expect(result.file).toBe(join(tmp.path, 'wavectl.json'));
    expect(result.config.name).toBe(deriveDeploymentName(tmp.path));
    expect(run.stderr).toBe('');
  });

  it('refuses to overwrite without --force, and overwrites with it', async () => {
    expect((await runCli([...BASE, '--name', 'first'], { cwd: tmp.path })).code).toBe(0);
    const refused = await runCli([...BASE, '--name', 'second'], { cwd: tmp.path });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /already exists; to change one setting use `wavectl config set <path> <value>`; --force overwrites it$/m,
    );
    expect(JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8')).name).toBe('first');
    const forced = await runCli([...BASE, '--name', 'second', '--force'], { cwd: tmp.path });
    expect(forced.code).toBe(0);
    expect(JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8')).name).toBe('second');
  });

  it.each([
    [['--region', 'europe'], '--region'],
    [['--name', 'Has Spaces'], '--name'],
    [['--name', 'x'.repeat(33)], '--name'],
    [['--identity-provider', 'ldap'], '--identity-provider'],
    [['--kasm-instance-type', 'm6a.huge'], '--kasm-instance-type'],
    [['--controller-url', 'not a url'], '--controller-url'],
  ])('rejects bad value %j with exit 2 naming %s, writing nothing', async (override, option) => {
    const args = [...BASE];
    for (let i = 0; i < override.length; i += 2) {
      const at = args.indexOf(override[i]!);
      if (at >= 0) args.splice(at, 2);
      args.push(override[i]!, override[i + 1]!);
    }
    const run = await runCli(args, { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(option);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(tmp.path, 'wavectl.json'))).toBe(false);
  });

  it('names every missing required option', async () => {
    const run = await runCli(['init', '--json'], { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.json<{ error: { message: string } }>().error.message).toMatch(
      /--identity-provider, --profile, --region/,
    );
  });

  it('asks for --name when the directory name cannot be a deployment name', () => {
    expect(() =>
      buildInitialConfig(
        '/tmp/___',
        { identityProvider: 'local', profile: 'p', region: 'us-east-1' },
        undefined,
      ),
    ).toThrow(/derived from the directory name "___"; pass --name/);
    expect(deriveDeploymentName('/home/me/Waveshift US (prod)')).toBe('waveshift-us-prod');
  });

  it('gives a one-line error for a missing directory', async () => {
    const run = await runCli([...BASE, '--dir', join(tmp.path, 'nope')], { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/does not exist/);
  });

  it('shows a stack trace only with --verbose', async () => {
    await writeFile(join(tmp.path, 'wavectl.json'), '{}');
    const quiet = await runCli([...BASE], { cwd: tmp.path });
    const verbose = await runCli([...BASE, '--verbose'], { cwd: tmp.path });
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('works as a separate process from the built binary', async () => {
    const run = await runCliProcess([...BASE, '--name', 'proc'], { cwd: tmp.path });
    expect(run.code).toBe(0);
    expect(JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8')).name).toBe('proc');
  });
});
