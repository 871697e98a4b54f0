import { join } from 'node:path';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli';
import { initDeployment, motoWithManagedPolicies, PROFILE, rawClients } from './helpers/deploy-fixture';
import { applyEnv, type MotoServer, startMoto, writeAwsProfile } from './helpers/moto';
import { makeTempDir } from './helpers/tmp';

type Tagged = { Tags?: { Key?: string; Value?: string }[] };
const owner = (item: Tagged) => item.Tags?.find((t) => t.Key === 'waveshift:deployment')?.Value;

/**
 * The oracle: every EC2 resource of a region described WITHOUT any filter and grouped by its deployment tag
 * here, plus IAM roles and hosted zones by name — nothing of wavectl's own reading is used.
 */
async function oracle(endpoint: string, region: string): Promise<Record<string, string[]>> {
  const { ec2 } = rawClients(endpoint, region);
  const [vpcs, subnets, igws, nats, addresses, tables, groups, reservations] = await Promise.all([
    ec2.send(new DescribeVpcsCommand({})),
    ec2.send(new DescribeSubnetsCommand({})),
    ec2.send(new DescribeInternetGatewaysCommand({})),
    ec2.send(new DescribeNatGatewaysCommand({})),
    ec2.send(new DescribeAddressesCommand({})),
    ec2.send(new DescribeRouteTablesCommand({})),
    ec2.send(new DescribeSecurityGroupsCommand({})),
    ec2.send(new DescribeInstancesCommand({})),
  ]);
  const out: Record<string, string[]> = {};
  const add = (
    items: (Tagged & Record<string, unknown>)[] | undefined,
    idKey: string,
    live = (_: never) => true,
  ) => {
    for (const item of items ?? []) {
      const name = owner(item);
      if (!name || !live(item as never)) continue;
      out[name] = [...(out[name] ?? []), String(item[idKey])];
    }
  };
  add(vpcs.Vpcs as never, 'VpcId');
  add(subnets.Subnets as never, 'SubnetId');
  add(igws.InternetGateways as never, 'InternetGatewayId');
  add(nats.NatGateways as never, 'NatGatewayId', (n: { State?: string }) => n.State !== 'deleted');
  add(addresses.Addresses as never, 'AllocationId');
  add(tables.RouteTables as never, 'RouteTableId');
  add(groups.SecurityGroups as never, 'GroupId');
  add(
    (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []) as never,
    'InstanceId',
    (i: { State?: { Name?: string } }) => i.State?.Name !== 'terminated',
  );
  for (const ids of Object.values(out)) ids.sort();
  return out;
}

async function globalOracle(endpoint: string, region: string, deployment: string): Promise<string[]> {
  const { iam, route53 } = rawClients(endpoint, region);
  const found: string[] = [];
  for (const component of ['controller', 'kasm']) {
    const name = `waveshift-${region}-${deployment}-${component}`;
    const role = await iam.send(new GetRoleCommand({ RoleName: name })).catch(() => undefined);
    if (role?.Role) found.push(name);
  }
  const zones = (await route53.send(new ListHostedZonesCommand({}))).HostedZones ?? [];
  for (const z of zones)
    if (z.CallerReference?.startsWith(`wavectl:${region}:${deployment}:`)) found.push(z.Id!);
  return found.sort();
}

describe('deployments side by side: two in one region, one in another', () => {
  let moto: MotoServer;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const dirs: Record<string, string> = {};
  const cli = (key: string, ...args: string[]) =>
    runCli([...args, '--dir', dirs[key]!, '--endpoint-url', moto.endpoint], { cwd: dirs[key]! });

  beforeAll(async () => {
    motoWithManagedPolicies();
    moto = await startMoto();
    tmp = await makeTempDir();
    applyEnv(await writeAwsProfile(join(tmp.path, 'aws'), PROFILE, 'us-west-2'));
    dirs.a = await initDeployment(tmp.path, 'iso-a', 'us-west-2');
    dirs.b = await initDeployment(tmp.path, 'iso-b', 'us-west-2');
    dirs.eu = await initDeployment(tmp.path, 'iso-a', 'eu-west-2');
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    await tmp?.remove();
  });

  it('deployed concurrently, each has its own NAT gateway; destroying one leaves the others’ IDs unchanged', {
    timeout: 240_000,
  }, async () => {
    const runs = await Promise.all(['a', 'b', 'eu'].map((k) => cli(k, 'deploy', '--json')));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);

    const us = await oracle(moto.endpoint, 'us-west-2');
    const eu = await oracle(moto.endpoint, 'eu-west-2');
    // VPC, 2 subnets, IGW, NAT gateway, its address, 2 route tables, 2 security groups, 2 instances.
    for (const ids of [us['iso-a'], us['iso-b'], eu['iso-a']]) {
      expect(ids?.filter((id) => id.startsWith('nat-'))).toHaveLength(1);
      expect(ids?.length).toBe(12);
    }
    expect(new Set([...us['iso-a']!, ...us['iso-b']!]).size).toBe(24);
    const globalsB = await globalOracle(moto.endpoint, 'us-west-2', 'iso-b');
    const globalsEu = await globalOracle(moto.endpoint, 'eu-west-2', 'iso-a');
    expect(globalsB).toHaveLength(4);
    expect(globalsEu).toHaveLength(4);

    // Each sees only itself: a re-deploy of b right after a's is a no-op.
    for (const key of ['a', 'b', 'eu']) {
      const status = await cli(key, 'status', '--json');
      expect(status.code, status.stdout).toBe(0);
    }

    const gone = await cli('a', 'destroy', '--yes');
    expect(gone.code, gone.stderr).toBe(0);
    const usAfter = await oracle(moto.endpoint, 'us-west-2');
    expect(usAfter['iso-a'] ?? []).toEqual([]);
    expect(usAfter['iso-b']).toEqual(us['iso-b']);
    expect((await oracle(moto.endpoint, 'eu-west-2'))['iso-a']).toEqual(eu['iso-a']);
    expect(await globalOracle(moto.endpoint, 'us-west-2', 'iso-b')).toEqual(globalsB);
    expect(await globalOracle(moto.endpoint, 'eu-west-2', 'iso-a')).toEqual(globalsEu);
    expect(await globalOracle(moto.endpoint, 'us-west-2', 'iso-a')).toEqual([]);
    expect((await cli('b', 'deploy', '--json')).json<{ status: string }>().status).toBe('unchanged');
  });
});
