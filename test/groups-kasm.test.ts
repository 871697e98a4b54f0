import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DescribeTagsCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG_KASM_OIDC } from '../src/aws/instances';
import { resourceTags } from '../src/aws/naming';
import { type RunningController, startController } from '../src/controller/server';
import { operatorKasmGroup } from '../src/deploy/kasm-oidc';
import { kasmOidcScriptFor } from '../src/deploy/kasm-oidc-step';
import { certificateFacts, createCertificateAuthority } from '../src/tls/certificates';
import { runCli } from './helpers/cli';
import { TEST_API_KEY } from './helpers/controller';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { recordSendCommands } from './helpers/send-command-recorder';
import { makeTempDir } from './helpers/tmp';

const NAME = 'kasmgroups';
const REGION = 'eu-west-1';
const PROFILE = 'kasm-groups-test';
const COMMENT = 'wavectl groups add: kasm group';

/**
 * `wavectl groups add` on a deployment with a Kasm host: the controller (real, with PostgreSQL) gets the
 * group over controller.url, and the Kasm instance (moto) gets deploy's script with the group added through
 * SSM Run Command. moto runs no command, so the outcome is `unverified`; the script itself runs against a
 * Kasm API stand-in in kasm-oidc-standin.test.ts.
 */
describe('wavectl groups add gives the Kasm host a group (moto, real controller)', () => {
  let pg: PostgresServer;
  let controller: RunningController;
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let ec2: EC2Client;
  let env: Record<string, string>;
  let ca: string;
  const cli = (args: string[], more: Record<string, string> = {}) =>
    runCli(['--dir', tmp.path, ...args], { cwd: tmp.path, env: { ...env, ...more } });
  let recorder: Awaited<ReturnType<typeof recordSendCommands>>;
  const sentToKasm = async () => recorder.sent.filter((c) => c.comment === COMMENT);

  beforeAll(async () => {
    [pg, moto, tmp] = await Promise.all([startPostgres(), startMoto(), makeTempDir('wavectl-groups-kasm-')]);
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      databaseUrl: await pg.createDatabase('groups_kasm'),
      apiKey: TEST_API_KEY,
      logger: false,
    });
    const profile = await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, REGION);
    applyEnv(profile);
    recorder = await recordSendCommands(moto.endpoint);
    env = { ...profile, AWS_ENDPOINT_URL: recorder.url, WAVESHIFT_API_KEY: TEST_API_KEY };
    const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
    ec2 = new EC2Client({ region: REGION, endpoint: moto.endpoint, credentials });
    ca = (await createCertificateAuthority(NAME, new Date())).certificatePem;
    const facts = certificateFacts(ca);
    // What deploy leaves in wavectl.json: the Kasm instance's id cached, the deployment CA recorded.
    await writeFile(
      join(tmp.path, 'wavectl.json'),
      JSON.stringify({
        version: 1,
        name: NAME,
        identityProvider: 'local',
        aws: { profile: PROFILE, region: REGION },
        controller: { url: controller.url },
        tls: { caCertificate: ca, caFingerprint: facts.fingerprintSha256, caExpires: facts.notAfter },
        resources: { 'kasm-instance': 'i-0123456789abcdef0' },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    ec2?.destroy();
    await controller?.close();
    await recorder?.stop();
    await Promise.all([pg?.stop(), moto?.stop()]);
    await tmp?.remove();
  });

  it('without a running Kasm instance: the group is made, Kasm not changed, and the output says so', async () => {
    const run = await cli(['groups', 'add', 'early', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({
      action: 'added',
      group: { name: 'early' },
      kasm: {
        state: 'not-deployed',
        detail: expect.stringMatching(
          /^no running Kasm instance in deployment kasmgroups: Kasm was not changed; /,
        ),
      },
    });
    expect(await sentToKasm()).toEqual([]);
  });

  it('sends the Kasm instance exactly deploy’s script with the group added, and leaves deploy’s tag alone', async () => {
    const launched = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [{ ResourceType: 'instance', Tags: resourceTags(NAME, 'kasm') }],
      }),
    );
    const kasmId = launched.Instances![0]!.InstanceId!;
    const run = await cli(['groups', 'add', 'Lab', '--description', 'the test lab']);
    expect(run.code, run.stderr).toBe(0);
    const [first, second] = run.stdout.trim().split('\n');
    expect(first).toBe('Group Lab added.');
    expect(second).toMatch(
      new RegExp(
        `^Kasm: unverified: sent to ${kasmId} \\(SSM command [0-9a-f-]+\\), but the AWS emulator runs no command`,
      ),
    );

    const sent = await sentToKasm();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.instanceIds).toEqual([kasmId]);
    expect(sent[0]!.document).toBe('AWS-RunShellScript');
    expect(sent[0]!.script).toEqual(
      kasmOidcScriptFor({ deployment: NAME, region: REGION }, ca, [operatorKasmGroup('Lab', 'the test lab')]),
    );
    const tags = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [kasmId] }] }),
    );
    expect((tags.Tags ?? []).map((t) => t.Key)).not.toContain(TAG_KASM_OIDC);

    const none = await cli(['groups', 'add', 'quiet', '--no-kasm', '--json']);
    expect(none.json()).toMatchObject({ kasm: { state: 'skipped' } });
    expect(await sentToKasm()).toHaveLength(1);
    // Given to Kasm later: the same script for that group.
    const later = await cli(['groups', 'kasm', 'quiet', '--json']);
    expect(later.code, later.stderr).toBe(0);
    expect(later.json()).toMatchObject({ action: 'kasm', kasm: { state: 'unverified' } });
    const both = await sentToKasm();
    expect(both).toHaveLength(2);
    expect(both.map((c) => c.script)).toContainEqual(
      kasmOidcScriptFor({ deployment: NAME, region: REGION }, ca, [operatorKasmGroup('quiet', null)]),
    );
  });

  it('keeps the controller’s group and exits 1 with the reason when Kasm could not be reached', async () => {
    // Port 9 on loopback: nothing listens, so every AWS call is refused (after the SDK's retries).
    const run = await cli(['groups', 'add', 'stranded', '--json'], {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    expect(run.code).toBe(1);
    expect(run.json()).toMatchObject({ action: 'added', kasm: { state: 'failed' } });
    expect(run.stderr).toMatch(
      /group stranded was added to the controller, but Kasm was not given it: .*EC2 DescribeInstances.*; the controller’s group stays: `wavectl groups kasm stranded` gives it to Kasm/,
    );
    const retry = await cli(['groups', 'kasm', 'stranded'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(
      /^wavectl: group stranded: Kasm was not given it: EC2 DescribeInstances failed/,
    );
    const list = await cli(['groups', 'list', '--json']);
    expect(list.json<{ groups: { name: string }[] }>().groups.map((g) => g.name)).toContain('stranded');
  }, 120_000);
});
