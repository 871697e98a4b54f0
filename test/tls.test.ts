import { spawn } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readParameters } from '../src/aws/api-key';
import { readControllerCertificate, readStoredTls } from '../src/aws/tls-parameters';
import { WavectlConfigSchema } from '../src/config/schema';
import { type RunningController, startController } from '../src/controller/server';
import { ControllerClient } from '../src/controller-client/client';
import { httpTransport } from '../src/controller-client/http';
import { applyControllerTls, planControllerTls, servedCertificateFacts } from '../src/deploy/controller-tls';
import { ControllerError } from '../src/errors';
import {
  certificateFacts,
  createCertificateAuthority,
  issueServerCertificate,
  type KeyedCertificate,
  signedBy,
} from '../src/tls/certificates';
import type { CertificateFacts } from '../src/tls/lifetimes';
import { planTls } from '../src/tls/renewal';
import { siteInput, TEST_API_KEY } from './helpers/controller';
import { type MotoServer, startMoto } from './helpers/moto';
import { repoRoot } from './helpers/paths';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const DAY = 86_400_000;
const NOW = new Date('2026-06-01T00:00:00Z');
const facts = (notAfter: Date, names = ['waveshift.internal'], ips = ['10.0.2.10']): CertificateFacts => ({
  fingerprintSha256: 'AA:BB',
  notBefore: new Date(NOW.getTime() - DAY).toISOString(),
  notAfter: notAfter.toISOString(),
  names,
  ips,
  issuer: 'CN=Waveshift demo CA',
});
const DESIRED = { names: ['waveshift.internal'], ips: ['10.0.2.10'] };
const healthyCa = facts(new Date(NOW.getTime() + 3000 * DAY), [], []);
const healthyServer = { ...facts(new Date(NOW.getTime() + 80 * DAY)), signedByCa: true };

describe('planTls: when deploy creates, renews or keeps certificates (pure)', () => {
  const cases: [string, Parameters<typeof planTls>[0], string, string][] = [
    ['first deploy', { caKeyStored: false, serverKeyStored: false }, 'create', 'issue'],
    [
      'CA recorded but its key lost',
      { ca: healthyCa, caKeyStored: false, server: healthyServer, serverKeyStored: true },
      'create',
      'issue',
    ],
    [
      'CA in its last year',
      {
        ca: facts(new Date(NOW.getTime() + 200 * DAY), [], []),
        caKeyStored: true,
        server: healthyServer,
        serverKeyStored: true,
      },
      'renew',
      'issue',
    ],
    [
      'no controller certificate',
      { ca: healthyCa, caKeyStored: true, serverKeyStored: false },
      'keep',
      'issue',
    ],
    [
      'controller certificate expired',
      {
        ca: healthyCa,
        caKeyStored: true,
        server: { ...facts(new Date(NOW.getTime() - DAY)), signedByCa: true },
        serverKeyStored: true,
      },
      'keep',
      'issue',
    ],
    [
      'controller certificate in its last 30 days',
      {
        ca: healthyCa,
        caKeyStored: true,
        server: { ...facts(new Date(NOW.getTime() + 29 * DAY)), signedByCa: true },
        serverKeyStored: true,
      },
      'keep',
      'issue',
    ],
    [
      'controller certificate from another CA',
      {
        ca: healthyCa,
        caKeyStored: true,
        server: { ...healthyServer, signedByCa: false },
        serverKeyStored: true,
      },
      'keep',
      'issue',
    ],
    [
      'controller moved to another private IP',
      {
        ca: healthyCa,
        caKeyStored: true,
        server: {
          ...facts(new Date(NOW.getTime() + 80 * DAY), ['waveshift.internal'], ['10.0.2.99']),
          signedByCa: true,
        },
        serverKeyStored: true,
      },
      'keep',
      'issue',
    ],
    [
      'everything current',
      { ca: healthyCa, caKeyStored: true, server: healthyServer, serverKeyStored: true },
      'keep',
      'keep',
    ],
  ];
  it.each(cases)('%s', (_name, current, ca, server) => {
    const decision = planTls(current, DESIRED, NOW);
    expect(decision.ca.action).toBe(ca);
    expect(decision.server.action).toBe(server);
  });

  it('names the reason of a reissue', () => {
    const decision = planTls(
      {
        ca: healthyCa,
        caKeyStored: true,
        server: { ...facts(new Date(NOW.getTime() - DAY)), signedByCa: true },
        serverKeyStored: true,
      },
      DESIRED,
      NOW,
    );
    expect(decision.server).toMatchObject({ action: 'issue', reason: expect.stringMatching(/expired/) });
  });
});

describe('deployment CA and controller certificate (X.509 with @peculiar/x509)', () => {
  it('issues a 90-day server certificate for the names and addresses, signed by a 10-year CA', async () => {
    const ca = await createCertificateAuthority('demo', NOW);
    const server = await issueServerCertificate(ca, DESIRED, NOW);
    const caFacts = certificateFacts(ca.certificatePem);
    const serverFacts = certificateFacts(server.certificatePem);
    expect(Date.parse(caFacts.notAfter) - NOW.getTime()).toBe(3650 * DAY);
    expect(Date.parse(serverFacts.notAfter) - NOW.getTime()).toBe(90 * DAY);
    expect(serverFacts).toMatchObject({ names: ['waveshift.internal'], ips: ['10.0.2.10'] });
    expect(signedBy(server.certificatePem, ca.certificatePem)).toBe(true);
    const other = await createCertificateAuthority('other', NOW);
    expect(signedBy(server.certificatePem, other.certificatePem)).toBe(false);
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });
});

function runScanner(conf: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('busybox', ['sh', join(repoRoot, 'scripts', 'device-scanner.sh')], {
      env: { PATH: path, WAVESHIFT_SCANNER_CONF: conf, TMPDIR: '/tmp' },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

describe('the controller over HTTPS with the deployment CA (real PostgreSQL)', () => {
  let pg: PostgresServer;
  let controller: RunningController;
  let ca: KeyedCertificate;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;

  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-tls-');
    pg = await startPostgres();
    ca = await createCertificateAuthority('tlstest', new Date());
    const served = await issueServerCertificate(
      ca,
      { names: ['waveshift.internal', 'localhost'], ips: ['127.0.0.1'] },
      new Date(),
    );
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      loopbackHttpPort: 0,
      databaseUrl: await pg.createDatabase('tls'),
      apiKey: TEST_API_KEY,
      logger: false,
      tls: served,
    });
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await pg?.stop();
    await tmp?.remove();
  });

  it('answers a client that verifies against the deployment CA', async () => {
    expect(controller.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new ControllerClient(
      httpTransport(controller.url, TEST_API_KEY, { ca: ca.certificatePem }),
    );
    await client.putSites([{ number: 3, ...siteInput(3) }]);
    expect((await client.listSites()).map((s) => s.number)).toEqual([3]);
  });

  it('is refused by a client without the CA, and by one trusting another CA', async () => {
    const bare = new ControllerClient(httpTransport(controller.url, TEST_API_KEY));
    const refusal = await bare.listSites().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ControllerError);
    expect((refusal as Error).message).toMatch(/no deployment CA to verify it with/);
    const other = await createCertificateAuthority('other', new Date());
    const wrong = new ControllerClient(
      httpTransport(controller.url, TEST_API_KEY, { ca: other.certificatePem }),
    );
    await expect(wrong.listSites()).rejects.toThrow(/not one the deployment CA issued/);
  });

  it('keeps plain HTTP on loopback only, for the health probe and the relay', async () => {
    expect(controller.loopbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${controller.loopbackUrl}/health`);
    expect(res.status).toBe(200);
    const plainOnTls = await fetch(`${controller.url.replace('https:', 'http:')}/health`).catch((e) => e);
    expect(plainOnTls).toBeInstanceOf(Error);
  });

  it('receives the busybox scanner’s report over HTTPS with the installed CA, and not without it', async () => {
    const bin = join(tmp.path, 'bin');
    await mkdir(bin, { recursive: true });
    const xml = `<?xml version="1.0"?><nmaprun><host><status state="up"/><address addr="10.8.3.23" addrtype="ipv4"/><address addr="AA:BB:CC:00:11:22" addrtype="mac"/></host></nmaprun>`;
    await writeFile(join(tmp.path, 'scan.xml'), xml);
    await writeFile(join(bin, 'nmap'), `#!/bin/sh\ncat ${tmp.path}/scan.xml\n`);
    await writeFile(join(bin, 'logger'), '#!/bin/sh\n:\n');
    await chmod(join(bin, 'nmap'), 0o755);
    await chmod(join(bin, 'logger'), 0o755);
    await writeFile(join(tmp.path, 'ca.pem'), ca.certificatePem);
    const conf = async (extra: string) => {
      const file = join(tmp.path, 'scanner.conf');
      await writeFile(
        file,
        `SITE=3\nLAN_CIDR=10.8.3.0/24\nCONTROLLER_URL=${controller.url}\nAPI_KEY=${`scanner-3-${'k'.repeat(40)}`}\nSPOOL_DIR=${tmp.path}/spool\nLOCK_DIR=${tmp.path}/lock\nTIMEOUT=10\nLEASES_FILE=/nonexistent\n${extra}`,
        { mode: 0o600 },
      );
      return file;
    };
    const path = `${bin}:/usr/bin:/bin`;
    expect(await runScanner(await conf(''), path)).toBe(1);
    const client = new ControllerClient(
      httpTransport(controller.url, TEST_API_KEY, { ca: ca.certificatePem }),
    );
    expect((await client.getSite(3))?.lastReportAt ?? null).toBeNull();
    expect(await runScanner(await conf(`CA_FILE=${tmp.path}/ca.pem\n`), path)).toBe(0);
    expect((await client.getSite(3))?.lastReportAt).toEqual(expect.any(String));
  }, 60_000);
});

describe('deploy’s TLS step against SSM (moto)', () => {
  let moto: MotoServer;
  let ssm: SSMClient;
  beforeAll(async () => {
    moto = await startMoto();
    ssm = new SSMClient({
      region: 'eu-west-1',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  }, 60_000);
  afterAll(async () => {
    ssm?.destroy();
    await moto?.stop();
  });

  it('plans and creates the CA once, keeps it, and renews an expiring controller certificate', async () => {
    const base = WavectlConfigSchema.parse({
      version: 1,
      name: 'tlsdeploy',
      identityProvider: 'local',
      aws: { profile: 'default', region: 'eu-west-1' },
    });
    // The plan reads what deploy's census reads: the parameters by name, the certificate itself.
    const plan = async (config: typeof base, now: Date) => {
      const certificate = await readControllerCertificate(ssm, 'tlsdeploy');
      const current = {
        resources: await readParameters(ssm, 'tlsdeploy'),
        records: {},
        ...(certificate ? { controllerCertificatePem: certificate } : {}),
      };
      return planControllerTls(config, current, '10.0.2.10', now);
    };
    const firstPlan = await plan(base, NOW);
    expect(firstPlan.map((c) => c.action)).toEqual(['create', 'create']);
    const first = await applyControllerTls(ssm, base, firstPlan, '10.0.2.10', NOW);
    const stored = await readStoredTls(ssm, 'tlsdeploy');
    expect(stored.caKeyPem).toMatch(/PRIVATE KEY/);
    expect(signedBy(stored.controllerCertificatePem!, first.record!.caCertificate)).toBe(true);
    // The recorded CA goes into wavectl.json: valid for the schema, and no private key in it.
    const config = WavectlConfigSchema.parse({ ...base, tls: first.record });
    expect(JSON.stringify(config)).not.toMatch(/PRIVATE KEY/);

    const soon = new Date(NOW.getTime() + 10 * DAY);
    const againPlan = await plan(config, soon);
    expect(againPlan.map((c) => c.action)).toEqual(['keep', 'keep']);
    expect((await applyControllerTls(ssm, config, againPlan, '10.0.2.10', soon)).record).toBeUndefined();

    const later = new Date(NOW.getTime() + 95 * DAY);
    const renewPlan = await plan(config, later);
    expect(renewPlan.map((c) => c.action)).toEqual(['keep', 'update']);
    expect(renewPlan[1]!.differences!.join()).toMatch(/expired/);
    const renewed = await applyControllerTls(ssm, config, renewPlan, '10.0.2.10', later);
    expect(renewed.record!.caFingerprint).toBe(first.record!.caFingerprint);
    // The step says which certificate the controller must now serve: the renewed one, not the one it has.
    const renewedPem = (await readStoredTls(ssm, 'tlsdeploy')).controllerCertificatePem!;
    expect(renewed.certificatePem).toBe(renewedPem);
    expect(servedCertificateFacts(renewedPem)).not.toEqual(
      servedCertificateFacts(stored.controllerCertificatePem),
    );
    expect(Date.parse(renewed.record!.controllerCertificateExpires!)).toBe(later.getTime() + 90 * DAY);
  }, 60_000);
});
