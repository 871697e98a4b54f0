import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeRecords } from '../src/config/records';
import { withSetting } from '../src/config/set-setting';
import { runCli, runCliProcess } from './helpers/cli';
import { makeTempDir } from './helpers/tmp';

const INIT = [
  'init',
  '--identity-provider',
  'local',
  '--profile',
  'acme',
  '--region',
  'eu-west-1',
  '--name',
  'rec',
];
const KEY = 'A'.repeat(42) + 'E=';

/** wavectl.json as a deployment with records leaves it: two sites, an access server, resource IDs. */
async function recordedDeployment(dir: string): Promise<string> {
  const file = join(dir, 'wavectl.json');
  if (!existsSync(file)) expect((await runCli(INIT, { cwd: dir })).code).toBe(0);
  const config = JSON.parse(await readFile(file, 'utf8'));
  config.resources = { vpc: 'vpc-1', 'public-subnet': 'subnet-1' };
  config.accessServers = [
    { index: 0, publicKey: KEY, listenPort: 51820, instanceId: 'i-1', registered: true },
  ];
  config.sites = [0, 1].map((n) => ({
    number: n,
    name: `site-${n}`,
    publicKey: KEY,
    accessServer: 0,
    registered: true,
  }));
  await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return readFile(file, 'utf8');
}

describe('records are never lost', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const file = () => join(tmp.path, 'wavectl.json');
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('init --force over recorded resources refuses with no terminal (the built binary), naming config set', async () => {
    const before = await recordedDeployment(tmp.path);
    const run = await runCliProcess([...INIT, '--force'], { cwd: tmp.path, stdin: null, env: { CI: '' } });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `wavectl: refusing to overwrite ${file()}, which records 2 resource IDs, 2 sites, 1 access server, without --yes (no terminal to ask); to change one setting, use \`wavectl config set <path> <value>\` instead`,
    );
    expect(await readFile(file(), 'utf8')).toBe(before);
  });

  it('init --force over records asks at a terminal, and goes ahead on "overwrite" or --yes', async () => {
    await recordedDeployment(tmp.path);
    const declined = await runCli([...INIT, '--force'], { cwd: tmp.path, tty: true, stdin: 'no\n' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain(
      'records 2 resource IDs, 2 sites, 1 access server; overwriting loses them',
    );
    expect(JSON.parse(await readFile(file(), 'utf8')).sites).toHaveLength(2);
    const typed = await runCli([...INIT, '--force'], { cwd: tmp.path, tty: true, stdin: 'overwrite\n' });
    expect(typed.code, typed.stderr).toBe(0);
    expect(JSON.parse(await readFile(file(), 'utf8')).sites).toEqual([]);
    // The overwritten records are one step away, in the backup.
    expect(JSON.parse(await readFile(`${file()}.bak`, 'utf8')).sites).toHaveLength(2);
    await recordedDeployment(tmp.path);
    expect((await runCli([...INIT, '--force', '--yes'], { cwd: tmp.path })).code).toBe(0);
  });

  it('config set changes one setting, validated, keeping every record', async () => {
    await recordedDeployment(tmp.path);
    const url = await runCli(['config', 'set', 'controller.url', 'http://127.0.0.1:8080', '--json'], {
      cwd: tmp.path,
    });
    expect(url.code, url.stderr).toBe(0);
    expect(url.json()).toMatchObject({
      path: 'controller.url',
      before: null,
      after: 'http://127.0.0.1:8080',
    });
    const size = await runCli(['config', 'set', 'instances.controller.volumeGb', '40'], { cwd: tmp.path });
    expect(size.code, size.stderr).toBe(0);
    expect(size.stdout).toContain('instances.controller.volumeGb: 20 → 40');
    const written = JSON.parse(await readFile(file(), 'utf8'));
    expect(written.controller.url).toBe('http://127.0.0.1:8080');
    expect(written.instances.controller.volumeGb).toBe(40);
    expect(written.sites).toHaveLength(2);
    expect(written.resources.vpc).toBe('vpc-1');
    const before = await readFile(file(), 'utf8');
    const bad = await runCli(['config', 'set', 'instances.kasm.type', 'm6a.gigantic'], { cwd: tmp.path });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(
      /^wavectl: config set instances.kasm.type: instances.kasm.type: must be a known instance type .* was not changed$/,
    );
    const record = await runCli(['config', 'set', 'sites', '[]'], { cwd: tmp.path });
    expect(record.code).toBe(2);
    expect(record.stderr).toMatch(/sites cannot be set \(records kept by `wavectl sites`\)/);
    const unknown = await runCli(['config', 'set', 'aws.colour', 'blue'], { cwd: tmp.path });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/aws.colour: unknown key/);
    expect(await readFile(file(), 'utf8')).toBe(before);
  });

  it('names the line and column of broken JSON and points at the backup of the last good content', async () => {
    await recordedDeployment(tmp.path);
    expect((await runCli(['config', 'set', 'aws.profile', 'other'], { cwd: tmp.path })).code).toBe(0);
    const good = await readFile(file(), 'utf8');
    await writeFile(file(), '{\n  "version": 1,\n  "name": "rec"\n  "sites": []\n}\n');
    const run = await runCli(['sites', '--list'], { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `wavectl: ${file()} is not valid JSON at line 4, column 3 (Expected ',' or '}' after property value); fix it there; the previous good content is in ${file()}.bak (\`cp ${file()}.bak ${file()}\` restores it)`,
    );
    expect(run.stderr).not.toContain('init --force');
    const backup = JSON.parse(await readFile(`${file()}.bak`, 'utf8'));
    expect(backup.sites).toHaveLength(2);
    expect(backup.aws.profile).toBe('acme');
    expect(JSON.parse(good).aws.profile).toBe('other');
  });

  it('describes records, and refuses to set what is not a setting (pure)', () => {
    expect(describeRecords({ resources: {}, sites: [], accessServers: [] })).toEqual([]);
    expect(describeRecords({ resources: { vpc: 'v' }, sites: [{}] })).toEqual(['1 resource ID', '1 site']);
    expect(withSetting({ controller: {} }, 'controller.url', 'https://x')).toEqual({
      controller: { url: 'https://x' },
    });
    expect(() => withSetting({}, 'name', 'x')).toThrow(/make a new deployment directory/);
    expect(() => withSetting({}, 'aws.region', 'us-east-2')).toThrow(/cannot be set/);
    expect(() => withSetting({}, 'resources.vpc', 'v')).toThrow(/cannot be set/);
    expect(() => withSetting({ aws: 'x' }, 'aws.profile', 'p')).toThrow(/not an object/);
  });
});
