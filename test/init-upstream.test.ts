import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildInitialConfig } from '../src/config/init-deployment';
import { createCertificateAuthority } from '../src/tls/certificates';
import { runCli } from './helpers/cli';
import { makeTempDir } from './helpers/tmp';

const OKTA = [
  'init',
  '--identity-provider',
  'okta',
  '--profile',
  'acme',
  '--region',
  'eu-west-1',
  '--name',
  'acme',
];
const UPSTREAM = ['--issuer-url', 'https://acme.okta.com', '--client-id', '0oa1b2c3d4'];

describe('wavectl init and config set with an upstream identity provider', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  beforeEach(async () => {
    tmp = await makeTempDir();
  });
  afterEach(() => tmp.remove());
  const written = async () => JSON.parse(await readFile(join(tmp.path, 'wavectl.json'), 'utf8'));

  it('records the issuer, client id and options, and no secret', async () => {
    const authority = await createCertificateAuthority('keycloak', new Date());
    await writeFile(join(tmp.path, 'keycloak-ca.pem'), authority.certificatePem);
    const run = await runCli(
      [
        ...OKTA,
        ...UPSTREAM,
        '--groups-claim',
        'roles',
        '--allowed-email-domain',
        'acme.example',
        '--upstream-ca-file',
        'keycloak-ca.pem',
      ],
      { cwd: tmp.path, env: { WAVESHIFT_IDP_CLIENT_SECRET: 'never-written-anywhere' } },
    );
    expect(run.code, run.stderr).toBe(0);
    const config = await written();
    expect(config.identityProvider).toBe('okta');
    expect(config.upstream).toEqual({
      issuerUrl: 'https://acme.okta.com',
      clientId: '0oa1b2c3d4',
      groupsClaim: 'roles',
      groupMapping: {},
      adminGroups: [],
      allowedEmailDomain: 'acme.example',
      caCertificate: authority.certificatePem.trim(),
    });
    expect(await readFile(join(tmp.path, 'wavectl.json'), 'utf8')).not.toContain('never-written-anywhere');
    expect(run.stdout).not.toContain('never-written-anywhere');
  });

  it.each([
    [[], /missing --issuer-url, --client-id for --identity-provider okta/],
    [['--issuer-url', 'https://acme.okta.com'], /missing --client-id /],
    [['--issuer-url', 'http://acme.okta.com', '--client-id', 'x'], /--issuer-url must be an https:\/\/ URL/],
    [[...UPSTREAM, '--allowed-email-domain', 'not a domain'], /--allowed-email-domain must be a domain/],
    [[...UPSTREAM, '--upstream-ca-file', 'absent.pem'], /--upstream-ca-file absent\.pem: ENOENT/],
  ])('refuses %j with exit 2 and one line naming the flag, writing nothing', async (extra, message) => {
    const run = await runCli([...OKTA, ...extra], { cwd: tmp.path });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(tmp.path, 'wavectl.json'))).toBe(false);
  });

  it('refuses upstream options with the local provider, and knows a generic oidc provider', () => {
    const base = { profile: 'p', region: 'us-east-1', name: 'n' };
    expect(() =>
      buildInitialConfig('/tmp', { ...base, identityProvider: 'local', clientId: 'x' }, undefined),
    ).toThrow(/--client-id: only for an upstream identity provider, not local/);
    const generic = buildInitialConfig(
      '/tmp',
      {
        ...base,
        identityProvider: 'oidc',
        issuerUrl: 'https://sso.acme.example/realms/staff',
        clientId: 'w',
      },
      undefined,
    );
    expect(generic.upstream?.groupsClaim).toBe('groups');
  });

  it('config set changes the upstream settings, validated, and switches provider only with an upstream', async () => {
    expect(
      (
        await runCli(
          [
            'init',
            '--identity-provider',
            'local',
            '--profile',
            'a',
            '--region',
            'eu-west-1',
            '--name',
            'acme',
          ],
          { cwd: tmp.path },
        )
      ).code,
    ).toBe(0);
    const set = (path: string, value: string) => runCli(['config', 'set', path, value], { cwd: tmp.path });

    const early = await set('identityProvider', 'google');
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(
      /needs upstream\.issuerUrl and upstream\.clientId \(wavectl config set upstream/,
    );
    expect((await written()).identityProvider).toBe('local');

    expect(
      (
        await set(
          'upstream',
          '{"issuerUrl":"https://accounts.google.com","clientId":"123.apps.googleusercontent.com"}',
        )
      ).code,
    ).toBe(0);
    expect((await set('identityProvider', 'google')).code).toBe(0);
    expect((await set('upstream.groupMapping', '{"eng@acme.example":"engineers"}')).code).toBe(0);
    expect((await set('upstream.adminGroups', '["it-admins"]')).code).toBe(0);
    expect((await set('upstream.clientId', '456.apps.googleusercontent.com')).code).toBe(0);
    const bad = await set('upstream.issuerUrl', 'http://accounts.google.com');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/upstream\.issuerUrl: must be an https:\/\/ URL/);
    const badGroup = await set('upstream.groupMapping', '{"x":"has spaces"}');
    expect(badGroup.code).toBe(2);
    expect(badGroup.stderr).toMatch(/upstream\.groupMapping\.x: must be 1 to 64 letters/);
    const builtIn = await set('upstream.groupMapping', '{"admins":"waveshift-admins"}');
    expect(builtIn.code).toBe(2);
    expect(builtIn.stderr).toMatch(/name the upstream group in upstream\.adminGroups instead/);
    expect((await written()).upstream).toEqual({
      issuerUrl: 'https://accounts.google.com',
      clientId: '456.apps.googleusercontent.com',
      groupsClaim: 'groups',
      groupMapping: { 'eng@acme.example': 'engineers' },
      adminGroups: ['it-admins'],
    });
  });
});
