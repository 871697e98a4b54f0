import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, ListCommandsCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACCESS_SERVER_BOOT_CHECK_SCRIPT, parseBootCheck } from '../src/access-servers/boot-check';
import { TAG_INSTALLED } from '../src/aws/instances';
import { readStoredTls, storeControllerTls } from '../src/aws/tls-parameters';
import type { WavectlConfig } from '../src/config/schema';
import { servedCertificateFacts } from '../src/deploy/controller-tls';
import { kasmOidcScriptFor } from '../src/deploy/kasm-oidc-step';
import { KASM_RELEASE_URL } from '../src/deploy/service-scripts';
import { certificateFacts, issueServerCertificate } from '../src/tls/certificates';
import { rawClients } from './helpers/deploy-fixture';
import { InstanceStandIn, type StandInImage } from './helpers/instance-standin';
import {
  type LocalControllerDeployment,
  startLocalControllerDeployment,
} from './helpers/local-controller-deployment';
import type { MotoServer } from './helpers/moto';
import { describeWithNetns, NetLab } from './helpers/netns';

const run = promisify(execFile);
const REGION = 'us-east-1';
const API_KEY = 'instance-standin-test-key-0123456789';

/** What an image's component runs on in real AWS (moto hands the Kasm host Amazon Linux; AWS gives Ubuntu). */
const IMAGE_OF: Record<string, StandInImage> = {
  controller: 'amazon-linux-2023',
  kasm: 'ubuntu-22.04',
  'access-server-0': 'amazon-linux-2023',
};

/**
 * Every script wavectl sends to an instance, taken from what it sent to moto (user data, SSM Run Command
 * parameters), executed in an instance stand-in as cloud-init and the SSM agent would. A script that fails
 * there fails here: moto runs none of them.
 */
describeWithNetns('instance stand-ins run what wavectl sends to instances', () => {
  const lab = new NetLab('inst');
  let bed: LocalControllerDeployment;
  let moto: MotoServer;
  let dir: string;
  const standIns = new Map<string, InstanceStandIn>();
  /** Commands sent to each component, oldest first, with the comment wavectl gave them. */
  const commands = new Map<string, { comment: string; script: string }[]>();
  const sentTo = (component: string, comment: RegExp) =>
    (commands.get(component) ?? []).filter((c) => comment.test(c.comment)).map((c) => c.script);
  const userData = new Map<string, string>();
  let accessServersAdded: { boot: { status: string; reason?: string } };

  beforeAll(async () => {
    bed = await startLocalControllerDeployment('standin', REGION, API_KEY);
    ({ moto, dir } = bed);
    for (const step of [['deploy'], ['access-servers', '--add', '1', '--json'], ['sites', '--add', '1']]) {
      const out = await bed.cli(...step);
      if (out.code !== 0) throw new Error(`${step.join(' ')} failed: ${out.stderr}`);
      if (step[0] === 'access-servers') accessServersAdded = JSON.parse(out.stdout);
    }

    const { ec2, ssm } = rawClients(moto.endpoint, REGION);
    const reservations = (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [];
    const componentOf = new Map<string, string>();
    for (const instance of reservations.flatMap((r) => r.Instances ?? [])) {
      const component = instance.Tags?.find((t) => t.Key === 'waveshift:component')?.Value ?? '';
      componentOf.set(instance.InstanceId!, component);
      const attribute = await ec2.send(
        new DescribeInstanceAttributeCommand({ InstanceId: instance.InstanceId, Attribute: 'userData' }),
      );
      const encoded = attribute.UserData?.Value;
      if (encoded) userData.set(component, Buffer.from(encoded, 'base64').toString('utf8'));
    }
    // Each command to the instances wavectl sent it to, as it asked SSM (moto's ListCommands names every
    // instance in every command, which would run each script on every stand-in).
    const listed = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(listed.map((c) => c.DocumentName)).toEqual(listed.map(() => 'AWS-RunShellScript'));
    expect(bed.sentCommands).toHaveLength(listed.length);
    for (const { instanceIds, comment, script } of bed.sentCommands) {
      expect(instanceIds).toHaveLength(1);
      const component = componentOf.get(instanceIds[0]!)!;
      commands.set(component, [...(commands.get(component) ?? []), { comment, script }]);
    }
    for (const component of new Set([...commands.keys(), ...userData.keys()])) {
      const image = IMAGE_OF[component];
      if (!image) throw new Error(`no image known for component ${component}`);
      standIns.set(component, await InstanceStandIn.start(lab, component.slice(0, 6), image, moto.port));
    }
  }, 240_000);

  afterAll(async () => {
    await lab.cleanup();
    for (const s of standIns.values()) await s.stop();
    await bed?.stop();
  });

  const expectSuccess = (what: string, out: { code: number; stdout: string; stderr: string }) =>
    expect(out.code, `${what} failed:\n${out.stdout}\n${out.stderr}`).toBe(0);

  it('sends user data and SSM commands only to the instances it knows', () => {
    expect([...userData.keys()]).toEqual(['access-server-0']);
    expect([...commands.keys()].sort()).toEqual(['access-server-0', 'controller', 'kasm']);
  });

  it('says the emulator could not verify the access server’s boot, never that it is up', () => {
    expect(accessServersAdded.boot.status).toBe('unverified');
    expect(accessServersAdded.boot.reason).toMatch(/emulator executes no commands/);
  });

  it('access server: the first boot brings up wg0 and the peer script loads the site', async () => {
    const server = standIns.get('access-server-0')!;
    expectSuccess('user data', await server.runUserData(userData.get('access-server-0')!));
    expect((await server.exec(['systemctl', 'is-active', 'waveshift-wireguard'])).stdout.trim()).toBe(
      'active',
    );
    const peerScripts = sentTo('access-server-0', /peers/);
    expect(peerScripts.length).toBeGreaterThan(0);
    for (const script of peerScripts) expectSuccess('peer script', await server.runCommand(script));
    const config = JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
    const peers = await server.exec(['wg', 'show', 'wg0', 'peers']);
    expectSuccess('wg show', peers);
    expect(peers.stdout.trim()).toBe(config.sites[0]!.publicKey);
    // The private key came from Parameter Store through the instance's CLI, into a root-only file.
    const key = await server.exec(['stat', '-c', '%a %U', '/etc/wireguard/private.key']);
    expect(key.stdout.trim()).toBe('600 root');
    // The check wavectl runs after boot on real AWS sees the tunnel up.
    const check = await server.runCommand(ACCESS_SERVER_BOOT_CHECK_SCRIPT);
    expect(parseBootCheck(check.stdout, check.stderr)).toEqual({ state: 'up' });
  });

  it('access server whose boot failed: the boot check says so with the log tail, the peer script fails', async () => {
    const broken = await InstanceStandIn.start(lab, 'broken', 'amazon-linux-2023', moto.port);
    standIns.set('broken', broken);
    const checkWhileBooting = await broken.runCommand(ACCESS_SERVER_BOOT_CHECK_SCRIPT);
    expect(parseBootCheck(checkWhileBooting.stdout)).toEqual({ state: 'booting' });
    const boot = await broken.runUserData(
      '#!/bin/bash\necho "Error: Failed to download metadata for repo" >&2\nexit 1\n',
    );
    expect(boot.code).toBe(1);
    const check = await broken.runCommand(ACCESS_SERVER_BOOT_CHECK_SCRIPT);
    expect(check.code).toBe(1);
    expect(parseBootCheck(check.stdout)).toEqual({
      state: 'failed',
      reason: 'waveshift-wireguard.service is inactive, wg0 is absent',
      logTail: 'Error: Failed to download metadata for repo',
    });
    const peers = await broken.runCommand(sentTo('access-server-0', /peers/)[0]!);
    expect(peers.code).toBe(1);
    expect(peers.stderr).toContain('wg0 is absent');
  });

  it('controller: the install command installs Node.js 22 and PostgreSQL, and the health probe passes', async () => {
    const instance = standIns.get('controller')!;
    const [install] = sentTo('controller', /install controller/);
    const [health] = sentTo('controller', /controller health/);
    expectSuccess('controller install', await instance.runCommand(install!));
    expect(await instance.readFile('/var/log/standin/packages.calls')).toMatch(
      /^dnf install -y -q nodejs22$/m,
    );
    expect((await instance.exec(['readlink', '/opt/waveshift/node'])).stdout.trim()).toBe('/usr/bin/node-22');
    expect((await instance.exec(['systemctl', 'is-active', 'waveshift-controller'])).stdout.trim()).toBe(
      'active',
    );
    const probe = await instance.runCommand(health!);
    expectSuccess('controller health probe', probe);
    expect(JSON.parse(probe.stdout)).toMatchObject({ status: 'ok' });
    // HTTPS on 443 (an unprivileged service given CAP_NET_BIND_SERVICE) with the certificate deploy issued:
    // a client trusting only the deployment CA accepts it under the controller's name.
    const { tls } = JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
    await instance.exec(['sh', '-c', 'printf "%s" "$1" > /tmp/ca.pem', 'sh', tls!.caCertificate]);
    const https = await instance.exec([
      'curl',
      '-fsS',
      '--cacert',
      '/tmp/ca.pem',
      '--resolve',
      'waveshift.internal:443:127.0.0.1',
      'https://waveshift.internal/health',
    ]);
    expect(https.code, https.stderr).toBe(0);
    expect(JSON.parse(https.stdout)).toMatchObject({ status: 'ok' });
    // The API key reached root-only files only.
    const files = await instance.exec([
      'stat',
      '-c',
      '%a %U %n',
      '/etc/waveshift/controller.env',
      '/etc/waveshift/api-key-header',
    ]);
    expect(
      files.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(0, 2).join(' ')),
    ).toEqual(['600 root', '600 root']);
  });

  it('controller: a certificate deploy renews is what the running controller serves; a re-deploy sends no install', async () => {
    const instance = standIns.get('controller')!;
    const { ec2, ssm } = rawClients(moto.endpoint, REGION);
    const installs = async () =>
      ((await ssm.send(new ListCommandsCommand({}))).Commands ?? [])
        .filter((c) => /install controller/.test(c.Comment ?? ''))
        .sort((a, b) => +a.RequestedDateTime! - +b.RequestedDateTime!)
        .map((c) => (c.Parameters?.commands ?? []).join('\n'));
    const served = async () => {
      const out = await instance.exec([
        'sh',
        '-c',
        'openssl s_client -connect 127.0.0.1:443 -servername waveshift.internal </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256',
      ]);
      expect(out.code, out.stderr).toBe(0);
      return out.stdout.trim().replace(/^.*=/, '');
    };
    const installedTag = async () => {
      const reservations = (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [];
      const controller = reservations
        .flatMap((r) => r.Instances ?? [])
        .find((i) => i.Tags?.some((t) => t.Key === 'waveshift:component' && t.Value === 'controller'));
      return controller?.Tags?.find((t) => t.Key === TAG_INSTALLED)?.Value ?? '';
    };
    const before = await readStoredTls(ssm, 'standin');
    expect(await served()).toBe(certificateFacts(before.controllerCertificatePem!).fingerprintSha256);
    const sentBefore = (await installs()).length;

    // Nothing changed: deploy sends no install.
    const noop = await bed.cli('deploy', '--json');
    expect(noop.code, noop.stderr).toBe(0);
    expect((await installs()).length).toBe(sentBefore);

    // The certificate in SSM is now in its last days (issued 85 days ago by the same CA).
    const { tls } = JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
    const facts = certificateFacts(before.controllerCertificatePem!);
    const aged = await issueServerCertificate(
      { certificatePem: tls!.caCertificate, keyPem: before.caKeyPem! },
      { names: facts.names, ips: facts.ips },
      new Date(Date.now() - 85 * 86_400_000),
    );
    await storeControllerTls(ssm, 'standin', aged.certificatePem, aged.keyPem);

    const renewal = await bed.cli('deploy', '--json');
    expect(renewal.code, renewal.stderr).toBe(0);
    const steps = renewal.json<{ steps: { step: string; status: string }[] }>().steps;
    expect(steps.filter((r) => /^controller-(tls|service)$/.test(r.step))).toEqual([
      expect.objectContaining({ step: 'controller-tls', status: 'changed' }),
      expect.objectContaining({ step: 'controller-service', status: 'changed' }),
    ]);
    const renewed = (await readStoredTls(ssm, 'standin')).controllerCertificatePem!;
    expect(renewed).not.toBe(aged.certificatePem);
    expect(await installedTag()).toMatch(
      new RegExp(`\\.tls-${servedCertificateFacts(renewed).certificate}$`),
    );
    const sent = await installs();
    expect(sent).toHaveLength(sentBefore + 1);
    expectSuccess('controller reinstall', await instance.runCommand(sent.at(-1)!));
    const now = await served();
    expect(now).toBe(certificateFacts(renewed).fingerprintSha256);
    expect(now).not.toBe(facts.fingerprintSha256);

    // Renewed and delivered: the next deploy sends nothing to install.
    const after = await bed.cli('deploy', '--json');
    expect(after.code, after.stderr).toBe(0);
    expect((await installs()).length).toBe(sentBefore + 1);
  });

  it('Kasm host (Ubuntu, sh is dash): the install command runs up to the installer, which gets what it needs', async () => {
    const kasm = standIns.get('kasm')!;
    const release = join(bed.tmp, 'release');
    await mkdir(join(release, 'kasm_release'), { recursive: true });
    // The installer stand-in records its arguments, umask and the shell options it inherited, then marks
    // Kasm installed as the real one does.
    await writeFile(
      join(release, 'kasm_release', 'install.sh'),
      [
        '#!/bin/bash',
        'set -eu',
        'mkdir -p /opt/kasm/current /var/log/standin',
        'printf "%s\\n" "$@" > /var/log/standin/kasm-install.args',
        'umask > /var/log/standin/kasm-install.umask',
        // Kasm's installer ends by printing the credentials, the given admin password among them.
        'while [ $# -gt 0 ]; do [ "$1" = --admin-password ] && admin=$2; shift; done',
        'printf "Kasm UI Login Credentials\\n  username: admin@kasm.local\\n  password: %s\\n" "$admin"',
      ].join('\n'),
      { mode: 0o755 },
    );
    await run('tar', ['-czf', join(bed.tmp, 'kasm_release.tar.gz'), '-C', release, 'kasm_release']);
    const url = new URL(KASM_RELEASE_URL);
    await kasm.serveHttps(url.hostname, {
      [url.pathname.split('/').pop()!]: await readFile(join(bed.tmp, 'kasm_release.tar.gz')),
      __healthcheck: Buffer.from('{"ok":true}'),
    });
    const [install] = sentTo('kasm', /install kasm/);
    const [health] = sentTo('kasm', /kasm health/);
    expectSuccess('Kasm install', await kasm.runCommand(install!));
    expect(await kasm.readFile('/var/log/standin/kasm-install.umask')).toBe('0022\n');
    const args = (await kasm.readFile('/var/log/standin/kasm-install.args')).trim().split('\n');
    expect(args).toContain('--accept-eula');
    // The admin password is the one wavectl stored in Parameter Store, and no log on the host holds it.
    const { ssm } = rawClients(moto.endpoint, REGION);
    const stored = await ssm.send(
      new GetParameterCommand({ Name: '/waveshift/standin/kasm/admin-password', WithDecryption: true }),
    );
    expect(args[args.indexOf('--admin-password') + 1]).toBe(stored.Parameter?.Value);
    const log = await kasm.exec(['stat', '-c', '%a %U', '/root/kasm-install.log']);
    expect(log.stdout.trim()).toBe('600 root');
    expect(await kasm.readFile('/root/kasm-install.log')).toContain('  password: (redacted)');
    expect(await kasm.filesWrittenContaining(stored.Parameter!.Value!)).toEqual([
      '/var/log/standin/kasm-install.args',
    ]);
    // A second run finds Kasm installed and changes nothing.
    const again = await kasm.runCommand(install!);
    expectSuccess('Kasm install again', again);
    expect(again.stdout).toContain('already installed');
    // The OpenID configuration deploy sent, for the CA it recorded (run in full by kasm-oidc-standin.test.ts).
    const { tls } = JSON.parse(await readFile(join(dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
    expect(sentTo('kasm', /configure kasm oidc/)).toEqual([
      kasmOidcScriptFor({ deployment: 'standin', region: REGION }, tls!.caCertificate),
    ]);
    // The health probe deploy and status send, against a stand-in of Kasm's API on the instance.
    const probe = await kasm.runCommand(health!);
    expectSuccess('Kasm health probe', probe);
    expect(probe.stdout.trim()).toBe('200');
  });
});
