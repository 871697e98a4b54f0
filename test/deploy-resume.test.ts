import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DescribeAddressesCommand, DescribeInstancesCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { ListRolesCommand } from '@aws-sdk/client-iam';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from './helpers/cli';
import {
  census,
  FULL_DEPLOYMENT,
  initDeployment,
  motoWithManagedPolicies,
  PROFILE,
  rawClients,
} from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { cliBundle } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

/** Runs the built binary and SIGKILLs it `delayMs` after a progress line matches `trigger`. */
function runUntilKilled(
  args: string[],
  cwd: string,
  trigger: RegExp,
  delayMs: number,
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBundle, ...args], { cwd, env: { ...process.env, CI: 'true' } });
    let stderr = '';
    let killed = false;
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (!killed && stderr.split('\n').some((line) => trigger.test(line))) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ killed, code, stderr }));
  });
}

describe('deploy and destroy killed with SIGKILL at several steps, then run again', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let dir: string;
  const region = 'us-east-1';

  /** Account-wide totals, independent of tags: an untagged orphan would show up here. */
  async function totals() {
    const { ec2, iam, route53 } = rawClients(moto.endpoint, region);
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    const live = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated');
    return {
      vpcs: vpcs.filter((v) => !v.IsDefault).length,
      instances: live.length,
      addresses: ((await ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).length,
      zones: ((await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? []).length,
      roles: ((await iam.send(new ListRolesCommand({}))).Roles ?? []).filter((r) =>
        r.RoleName?.startsWith('waveshift-'),
      ).length,
    };
  }

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, region));
    dir = await initDeployment(tmp.path, 'resume', region);
  });
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  // Eight deploy processes: generous on a loaded machine.
  it('finishes a deploy killed at seven points with no duplicate and no orphan', {
    timeout: 240_000,
  }, async () => {
    const args = ['deploy', '--dir', dir, '--endpoint-url', moto.endpoint];
    const kills: [RegExp, number][] = [
      [/^… vpc$/, 0], // calls in flight: VPC, EIP, bucket, roles, API key
      [/^✓ nat-eip: created/, 0],
      [/^… nat-gateway$/, 20],
      [/^… controller-zone$/, 0], // between CreateHostedZone and its tags
      [/^… controller-instance$/, 30], // RunInstances in flight
      [/^… controller-service$/, 10], // staging the bundle, or the SSM command in flight
      [/^… kasm-health$/, 0],
    ];
    let killedRuns = 0;
    for (const [trigger, delay] of kills) {
      const run = await runUntilKilled(args, dir, trigger, delay);
      if (run.killed && run.code === null) killedRuns++;
    }
    expect(killedRuns).toBeGreaterThanOrEqual(5);
    const finish = await runCliProcess([...args, '--json'], { cwd: dir });
    expect(finish.code, finish.stderr).toBe(0);
    const { counts, found } = await census(moto.endpoint, 'resume', region);
    expect(counts).toEqual(FULL_DEPLOYMENT);
    expect(found.filter((f) => f.kind === 'hosted-zone').map((z) => z.state)).toEqual(['tagged', 'tagged']);
    expect(await totals()).toEqual({ vpcs: 1, instances: 2, addresses: 1, zones: 2, roles: 2 });
    const again = await runCliProcess([...args, '--json'], { cwd: dir });
    expect(JSON.parse(again.stdout).status).toBe('unchanged');
  });

  it('finishes a destroy killed halfway, leaving nothing', { timeout: 120_000 }, async () => {
    const args = ['destroy', '--yes', '--dir', dir, '--endpoint-url', moto.endpoint];
    const first = await runUntilKilled(args, dir, /^✓ delete instance/, 0);
    expect(first.killed).toBe(true);
    const second = await runUntilKilled(args, dir, /^✓ delete (subnet|route-table|security-group)/, 0);
    expect(second.killed || second.code === 0).toBe(true);
    const finish = await runCliProcess(args, { cwd: dir });
    expect(finish.code, finish.stderr).toBe(0);
    expect((await census(moto.endpoint, 'resume', region)).found).toEqual([]);
    expect(await totals()).toEqual({ vpcs: 0, instances: 0, addresses: 0, zones: 0, roles: 0 });
  });
});
