import { describe, expect, it } from 'vitest';
import { assembleArchive, decodeArchive, encodeArchive } from '../src/backup/archive';
import { planRestore } from '../src/backup/restore-plan';
import { KDF_DEFAULTS, open, seal } from '../src/backup/sealed-file';
import { renameSecret } from '../src/backup/secrets';
import { BackupError, UsageError } from '../src/errors';

/** Cheap scrypt parameters for the many seal/open round trips below; the defaults are checked once. */
const FAST = { N: 1024, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

const config = JSON.stringify({
  version: 1,
  name: 'acme',
  identityProvider: 'local',
  aws: { profile: 'p', region: 'us-east-1' },
  resources: { vpc: 'vpc-1' },
  accessServers: [
    {
      index: 0,
      publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
      listenPort: 51820,
      instanceId: 'i-1',
      publicIp: '203.0.113.1',
      registered: true,
    },
  ],
  sites: [
    {
      number: 2,
      name: 'site-2',
      publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
      accessServer: 0,
      registered: true,
      router: { host: '10.8.2.1', port: 22, user: 'root' },
    },
  ],
});
const secrets = [
  { name: '/waveshift/acme/api-key', value: 'k'.repeat(43) },
  { name: '/waveshift/acme/sites/2/wireguard-private-key', value: 'private' },
];
const contents = () =>
  assembleArchive({
    config,
    deployment: 'acme',
    region: 'us-east-1',
    secrets,
    database: {
      format: 'wavectl-snapshot-1',
      snapshot: { schemaVersion: 1, tables: { sites: [{ number: 2 }] } },
    },
    missing: [],
    now: new Date('2026-01-02T03:04:05Z'),
  });

describe('the sealed archive', () => {
  it('round-trips with the default scrypt parameters and carries a manifest with checksums', async () => {
    const sealed = await seal(encodeArchive(contents()), PASS);
    expect(sealed.toString('latin1')).toContain(`"N":${KDF_DEFAULTS.N}`);
    expect(sealed.includes(Buffer.from('private'))).toBe(false);
    const back = decodeArchive(await open(sealed, PASS, 'f'), 'f');
    expect(back.secrets).toEqual(secrets);
    expect(back.manifest).toMatchObject({
      deployment: 'acme',
      region: 'us-east-1',
      createdAt: '2026-01-02T03:04:05.000Z',
    });
    expect(back.manifest.contents.map((e) => e.name)).toEqual(['wavectl.json', 'secrets', 'database']);
    expect(back.manifest.contents[2]?.detail).toBe('schema version 1: sites 1');
  });

  it('tells a wrong passphrase apart from damage', async () => {
    const sealed = await seal(encodeArchive(contents()), PASS, FAST);
    await expect(open(sealed, 'not the passphrase', 'f')).rejects.toThrow(
      /^wrong passphrase for f; nothing was changed$/,
    );
  });

  it('refuses every truncation, naming it', async () => {
    const sealed = await seal(encodeArchive(contents()), PASS, FAST);
    for (const cut of [1, 16, 17, sealed.length - 200, sealed.length - 40]) {
      const error = await open(sealed.subarray(0, sealed.length - cut), PASS, 'f').catch((e: unknown) => e);
      expect(error, `cut ${cut}`).toBeInstanceOf(BackupError);
      expect((error as Error).message).toMatch(/truncated|damaged header/);
    }
    await expect(open(Buffer.concat([sealed, Buffer.from('x')]), PASS, 'f')).rejects.toThrow(
      /trailing bytes/,
    );
  });

  it('refuses a changed byte anywhere: magic, header, ciphertext or tag', async () => {
    const sealed = await seal(encodeArchive(contents()), PASS, FAST);
    const headerEnd = sealed.indexOf(0x0a, 17);
    // A fixed spread of positions over every region of the file (deterministic, bounded).
    const positions = [
      0,
      5,
      20,
      headerEnd - 3,
      headerEnd + 1,
      headerEnd + 50,
      sealed.length - 17,
      sealed.length - 1,
    ];
    for (let i = 0; i < 40; i++)
      positions.push(headerEnd + 1 + ((i * 7919) % (sealed.length - headerEnd - 1)));
    for (const at of positions) {
      const tampered = Buffer.from(sealed);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      const error = await open(tampered, PASS, 'f').catch((e: unknown) => e);
      expect(error, `byte ${at}`).toBeInstanceOf(BackupError);
      expect((error as Error).message).toMatch(
        /tampered|damaged header|not a wavectl backup|wrong passphrase|truncated|trailing/,
      );
    }
  });

  it('refuses contents that do not match the manifest', () => {
    const bad = contents();
    bad.secrets = [...bad.secrets, { name: '/waveshift/acme/extra', value: 'x' }];
    expect(() => decodeArchive(encodeArchive(bad), 'f')).toThrow(/secrets does not match its checksum/);
  });
});

describe('the restore plan', () => {
  it('keeps keys and names, drops AWS IDs, and marks servers and sites for re-creation', () => {
    const plan = planRestore(config, secrets, {});
    expect(plan.config.resources).toEqual({});
    expect(plan.config.accessServers).toEqual([
      {
        index: 0,
        publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
        listenPort: 51820,
        registered: false,
      },
    ]);
    expect(plan.config.sites[0]).toMatchObject({
      number: 2,
      registered: false,
      router: { host: '10.8.2.1' },
    });
    expect(plan.secrets).toEqual(secrets);
    expect(plan).toMatchObject({ renamed: false, moved: false });
  });

  it('moves region and name, secrets under the new name', () => {
    const plan = planRestore(config, secrets, { region: 'eu-west-1', name: 'acme-eu' });
    expect(plan.config.aws.region).toBe('eu-west-1');
    expect(plan.config.name).toBe('acme-eu');
    expect(plan.secrets.map((s) => s.name)).toEqual([
      '/waveshift/acme-eu/api-key',
      '/waveshift/acme-eu/sites/2/wireguard-private-key',
    ]);
    expect(plan).toMatchObject({ renamed: true, moved: true });
  });

  it('refuses a bad region or name before anything happens', () => {
    expect(() => planRestore(config, secrets, { region: 'moon-1' })).toThrow(UsageError);
    expect(() => planRestore(config, secrets, { name: 'Acme!' })).toThrow(UsageError);
  });

  it('renames only under the source root', () => {
    expect(renameSecret('/waveshift/a/x/y', 'a', 'b')).toBe('/waveshift/b/x/y');
    expect(() => renameSecret('/waveshift/ab/x', 'a', 'b')).toThrow(RangeError);
  });
});
