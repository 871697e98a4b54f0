import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { plainHttpWarning } from '../src/config/controller-url';
import { assertEndpointUrls } from '../src/config/endpoint-url';
import { meaningProblems } from '../src/config/meaning';
import { profilesIn } from '../src/config/profile-files';
import { closestRegion, KNOWN_REGIONS } from '../src/config/regions';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { runCli, runCliProcess } from './helpers/cli';
import { repoRoot } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

const KEY = `${'A'.repeat(42)}E=`;
const site = (number: number, accessServer: number): SiteRecord => ({
  number,
  name: `site-${number}`,
  publicKey: KEY,
  accessServer,
  registered: true,
});
const server = (index: number): AccessServerRecord => ({ index, publicKey: KEY, listenPort: 51820 });
const INIT = ['init', '--identity-provider', 'local', '--profile', 'acme', '--name', 'early'];

describe('validate early, say what to do', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let awsConfig: string;
  beforeEach(async () => {
    tmp = await makeTempDir();
    awsConfig = join(tmp.path, 'aws-config');
    await writeFile(awsConfig, '[default]\nregion = us-east-1\n[profile acme]\nregion = eu-west-1\n');
  });
  afterEach(() => tmp.remove());
  /** An initialised deployment whose wavectl.json records these access servers and sites, as written. */
  const recorded = async (accessServers: AccessServerRecord[], sites: SiteRecord[]) => {
    const file = join(tmp.path, 'wavectl.json');
    if ((await cli([...INIT, '--region', 'eu-west-1', '--force', '--yes'])).code !== 0)
      throw new Error('init');
    const config = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...config, accessServers, sites }));
  };
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(args, {
      cwd: tmp.path,
      env: { AWS_CONFIG_FILE: awsConfig, AWS_SHARED_CREDENTIALS_FILE: join(tmp.path, 'none'), ...env },
    });

  it('init refuses a region the SDK does not know, with the closest match (exit 2)', async () => {
    const run = await cli([...INIT, '--region', 'eu-wset-2']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      'wavectl: --region: "eu-wset-2" is not an AWS region; did you mean eu-west-2?',
    );
    const shaped = await cli([...INIT, '--region', 'us-east-9']);
    expect(shaped.code).toBe(2);
    expect(shaped.stderr).toMatch(/did you mean us-east-1\?/);
  });

  it('init warns about a profile absent from the AWS files, and not about one present', async () => {
    const absent = await cli([...INIT, '--region', 'eu-west-1', '--profile', 'nobody']);
    expect(absent.code).toBe(0);
    expect(absent.stderr).toContain(`warning: AWS profile "nobody" is not defined in ${awsConfig} or `);
    const present = await cli([...INIT, '--region', 'eu-west-1', '--force']);
    expect(present.code).toBe(0);
    expect(present.stderr).not.toContain('warning');
  });

  it('controller URLs: only http(s); plain http to another host is a warning', async () => {
    const ftp = await cli([...INIT, '--region', 'eu-west-1', '--controller-url', 'ftp://10.0.0.5/']);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toMatch(/--controller-url must be an http:\/\/ or https:\/\/ URL/);
    const plain = await cli([
      ...INIT,
      '--region',
      'eu-west-1',
      '--controller-url',
      'http://controller.example:8080',
    ]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(
      /warning: controller.url http:\/\/controller.example:8080 is plain http .* in clear/,
    );
    const set = await cli(['config', 'set', 'controller.url', 'http://127.0.0.1:8080']);
    expect(set.code).toBe(0);
    expect(set.stderr).not.toContain('warning');
    expect(plainHttpWarning('https://waveshift.internal/')).toBeUndefined();
    expect(plainHttpWarning('http://[::1]:8080/')).toBeUndefined();
    expect(plainHttpWarning('http://10.0.2.10/')).toMatch(/in clear/);
  });

  it('a bad --endpoint-url or AWS_ENDPOINT_URL is one line naming the setting', async () => {
    expect((await cli([...INIT, '--region', 'eu-west-1'])).code).toBe(0);
    const flag = await cli(['status', '--endpoint-url', 'localhost:5000']);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim()).toBe(
      'wavectl: --endpoint-url: "localhost:5000" is not an http(s) URL such as http://127.0.0.1:5000',
    );
    const env = await cli(['status'], { AWS_ENDPOINT_URL: 'not a url' });
    expect(env.code).toBe(2);
    expect(env.stderr.trim()).toMatch(/^wavectl: AWS_ENDPOINT_URL: "not a url" is not an http\(s\) URL/);
    expect(() => assertEndpointUrls([['x', 'http://127.0.0.1:1']])).not.toThrow();
  });

  it('a credentials failure names the profile (the built binary)', async () => {
    expect((await cli([...INIT, '--region', 'eu-west-1', '--profile', 'ghost'])).code).toBe(0);
    const run = await runCliProcess(['status', '--endpoint-url', 'http://127.0.0.1:9'], {
      cwd: tmp.path,
      env: {
        AWS_CONFIG_FILE: awsConfig,
        AWS_SHARED_CREDENTIALS_FILE: join(tmp.path, 'none'),
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
        AWS_PROFILE: '',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/^wavectl: .*CredentialsProviderError.*AWS profile "ghost"/);
  });

  it('deploy --kasm-instance-type "" is bad usage', async () => {
    expect((await cli([...INIT, '--region', 'eu-west-1'])).code).toBe(0);
    const run = await cli(['deploy', '--kasm-instance-type', '']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      'wavectl: --kasm-instance-type needs an instance type, got an empty value',
    );
  });

  it('config validate checks meaning: duplicates and a site on an access server that does not exist', async () => {
    await recorded([server(0), server(0)], [site(3, 0), site(3, 0), site(4, 7)]);
    const run = await cli(['config', 'validate', '--json']);
    expect(run.code).toBe(2);
    const details = run.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
    expect(details.map((d) => d.path).sort()).toEqual(
      ['accessServers[1].index', 'sites[1].number', 'sites[2].accessServer'].sort(),
    );
    expect(details.find((d) => d.path === 'sites[2].accessServer')!.message).toMatch(
      /access server 7 is not recorded/,
    );
    await recorded([server(0)], [site(300, 0)]);
    const outside = await cli(['config', 'validate', '--json']);
    expect(outside.code).toBe(2);
    expect(outside.json<{ error: { details: { path: string }[] } }>().error.details[0]!.path).toBe(
      'sites[0].number',
    );
    expect(meaningProblems({ sites: [site(0, 0), site(1, 0)], accessServers: [server(0)] })).toEqual([]);
    // A region typed by hand into the file is checked as init checks it.
    const file = join(tmp.path, 'wavectl.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(
      file,
      JSON.stringify({ ...config, sites: [], aws: { ...config.aws, region: 'us-esat-1' } }),
    );
    const region = await cli(['config', 'validate', '--json']);
    expect(region.json<{ error: { details: unknown[] } }>().error.details).toEqual([
      { path: 'aws.region', message: '"us-esat-1" is not an AWS region; did you mean us-east-1?' },
    ]);
  });

  it('configure-hub: --all with no recorded router address, and an unreadable --identity, are bad usage', async () => {
    await recorded([server(0)], [site(0, 0), site(1, 0)]);
    const all = await cli(['configure-hub', '--all'], { WAVECTL_ROUTER_PASSWORD: 'x' });
    expect(all.code).toBe(2);
    expect(all.stderr.trim()).toMatch(
      /^wavectl: no site has a recorded router address yet: configure each router once with `wavectl configure-hub --site N/,
    );
    const missing = join(tmp.path, 'no-such-key');
    const identity = await cli(['configure-hub', '--site', '0', '--identity', missing]);
    expect(identity.code).toBe(2);
    expect(identity.stderr.trim()).toMatch(new RegExp(`^wavectl: --identity: cannot read ${missing}: `));
  });

  it('knows the SDK’s regions: the copy equals the installed SDK’s partitions data', async () => {
    const sdk = await import(
      `${repoRoot}node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js`
    );
    const fromSdk = (sdk.partitionsInfo.partitions as { regions: Record<string, unknown> }[]).flatMap((p) =>
      Object.keys(p.regions).filter((r) => !r.startsWith('aws-')),
    );
    expect([...KNOWN_REGIONS].sort()).toEqual(fromSdk.sort());
    expect(closestRegion('useast1')).toBe('us-east-1');
  });

  it('reads profile names from AWS config and credentials files (pure)', () => {
    const config = '[default]\nregion=x\n[profile a]\n[ profile b ]\n[sso-session s]\n';
    expect(profilesIn(config, 'config')).toEqual(['default', 'a', 'b']);
    expect(profilesIn('[a]\naws_access_key_id=x\n[c]\n', 'credentials')).toEqual(['a', 'c']);
  });
});
