import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config/schema';
import { runCli } from './helpers/cli';
import { repoRoot } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

describe('wavectl config validate', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('accepts what init wrote', async () => {
    await runCli(
      [
        'init',
        '--identity-provider',
        'okta',
        '--issuer-url',
        'https://ok.okta.com',
        '--client-id',
        '0oa1',
        '--profile',
        'p',
        '--region',
        'us-east-2',
        '--name',
        'ok',
      ],
      { cwd: tmp.path },
    );
    const run = await runCli(['config', 'validate', '--json'], { cwd: tmp.path });
    expect(run.code).toBe(0);
    expect(run.json()).toEqual({ file: join(tmp.path, 'wavectl.json'), valid: true });
  });

  it('reports every problem with its JSON path and exits 2', async () => {
    await writeFile(
      join(tmp.path, 'wavectl.json'),
      JSON.stringify({
        version: 1,
        name: 'ok',
        identityProvider: 'local',
        aws: { profile: 'p', region: 'us-east-1', colour: 'blue' },
        instances: { controller: { type: 't3a.medium', volumeGb: 2 } },
        sites: [{ number: 300, name: 's', publicKey: 'nope', accessServer: 0 }],
        extra: true,
      }),
    );
    const run = await runCli(['config', 'validate', '--json'], { cwd: tmp.path });
    expect(run.code).toBe(2);
    const paths = run.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path);
    expect(paths.sort()).toEqual(
      [
        'aws.colour',
        'extra',
        'instances.controller.volumeGb',
        'sites[0].number',
        'sites[0].publicKey',
      ].sort(),
    );
    const human = await runCli(['config', 'validate'], { cwd: tmp.path });
    expect(human.stderr).toContain('sites[0].number:');
    expect(human.stderr).toContain('aws.colour: unknown key');
  });

  it('says what to do when the file is missing or not JSON', async () => {
    const missing = await runCli(['config', 'validate'], { cwd: tmp.path });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/run `wavectl init`/);
    await writeFile(join(tmp.path, 'wavectl.json'), '{ "version": 1,');
    const broken = await runCli(['config', 'validate'], { cwd: tmp.path });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/not valid JSON/);
  });

  it('ships a JSON Schema generated from the zod schema', async () => {
    const shipped = JSON.parse(await readFile(join(repoRoot, 'wavectl.schema.json'), 'utf8'));
    expect(shipped).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
    expect(shipped.additionalProperties).toBe(false);
  });

  it('accepts wavectl.example.json', async () => {
    const example = await readFile(join(repoRoot, 'wavectl.example.json'), 'utf8');
    await writeFile(join(tmp.path, 'wavectl.json'), example);
    const run = await runCli(['config', 'validate'], { cwd: tmp.path });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });
});
