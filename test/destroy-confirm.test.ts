import { CreateVpcCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceTags, tagFilters } from '../src/aws/naming';
import { runCli, runCliProcess } from './helpers/cli';
import { initDeployment, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

const REGION = 'eu-west-2';
const REFUSED = 'wavectl: refusing to destroy deployment "asked" without --yes (no terminal to ask)';

/**
 * `destroy` deletes nothing until the operator types the deployment's name at a terminal, or passes --yes.
 * No terminal (CI=true, stdin not a terminal) is never a yes.
 */
describe('destroy needs consent (moto)', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const vpcs = async () => {
    const { ec2 } = rawClients(moto.endpoint, REGION);
    const out = await ec2.send(new DescribeVpcsCommand({ Filters: tagFilters('asked') }));
    ec2.destroy();
    return out.Vpcs ?? [];
  };

  /** One resource of the deployment, so that destroy has something to delete. */
  const plantVpc = async () => {
    const { ec2 } = rawClients(moto.endpoint, REGION);
    await ec2.send(
      new CreateVpcCommand({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: resourceTags('asked', 'vpc') }],
      }),
    );
    ec2.destroy();
  };

  beforeAll(async () => {
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(`${tmp.path}/aws`, PROFILE, REGION));
    dir = await initDeployment(tmp.path, 'asked', REGION);
    await plantVpc();
  });
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  const destroy = (answer: string, env?: NodeJS.ProcessEnv) =>
    runCli(['destroy', '--endpoint-url', moto.endpoint], { cwd: dir, tty: true, stdin: answer, env });

  it('refuses with stdin from /dev/null (the built binary, CI unset), and changes nothing', async () => {
    const run = await runCliProcess(['destroy', '--endpoint-url', moto.endpoint], {
      cwd: dir,
      stdin: null,
      env: { CI: '' },
    });
    expect(run.stderr.trim()).toBe(REFUSED);
    expect(run.code).toBe(2);
    expect(await vpcs()).toHaveLength(1);
  });

  it('refuses with --json: one JSON error document, exit 2', async () => {
    const run = await runCliProcess(['destroy', '--json', '--endpoint-url', moto.endpoint], {
      cwd: dir,
      stdin: null,
      env: { CI: '' },
    });
    expect(run.code).toBe(2);
    expect(run.json<{ error: { kind: string; exitCode: number } }>().error).toMatchObject({
      kind: 'ConsentError',
      exitCode: 2,
    });
    expect(await vpcs()).toHaveLength(1);
  });

  it('refuses under CI=true even at a terminal, without asking', async () => {
    const run = await destroy('asked\n', { CI: 'true' });
    expect(run.stderr).not.toContain('Type "asked"');
    expect(run.stderr.trim()).toBe(REFUSED);
    expect(run.code).toBe(2);
    expect(await vpcs()).toHaveLength(1);
  });

  it('changes nothing when the answer at a terminal is not the name', async () => {
    const run = await destroy('yes\n');
    expect(run.stderr).toContain('This deletes every AWS resource of deployment "asked" in eu-west-2.');
    expect(run.stderr).toContain('Type "asked" to continue:');
    expect(run.stderr).toMatch(/wavectl: not confirmed; nothing was changed/);
    expect(run.code).toBe(1);
    expect(await vpcs()).toHaveLength(1);
  });

  it('deletes the deployment once its name is typed', async () => {
    const run = await destroy('asked\n');
    expect(run.stderr).not.toMatch(/wavectl:/);
    expect(run.code).toBe(0);
    expect(await vpcs()).toEqual([]);
  });

  it('deletes without asking under --yes, with no terminal (the built binary)', async () => {
    await plantVpc();
    expect(await vpcs()).toHaveLength(1);
    const run = await runCliProcess(['destroy', '--yes', '--json', '--endpoint-url', moto.endpoint], {
      cwd: dir,
      stdin: null,
    });
    expect(run.stderr).not.toMatch(/wavectl:/);
    expect(run.code).toBe(0);
    expect(await vpcs()).toEqual([]);
    // With --json, stdout is the result alone, and the progress is on stderr, one JSON event per line.
    expect(run.json()).toMatchObject({ status: 'destroyed', remaining: 0 });
    const events = run.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; id?: string; state?: string });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'step', id: 'census', state: 'done' }));
    expect(events.some((e) => e.kind === 'step' && e.id?.startsWith('delete vpc'))).toBe(true);
  });
});
