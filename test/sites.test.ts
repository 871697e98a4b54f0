import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DescribeAddressesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WavectlConfig } from '../src/config/schema';
import { publicKeyOf } from '../src/wireguard/keys';
import { runCli } from './helpers/cli';
import { API_KEY, DEPLOYMENT, REGION, type SiteBed, startSiteBed } from './helpers/site-bed';

describe('sites and access servers against moto and the real controller', () => {
  let bed: SiteBed;
  let ssm: SSMClient;
  const config = async () =>
    JSON.parse(await readFile(join(bed.dir, 'wavectl.json'), 'utf8')) as WavectlConfig;
  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${bed.controller.url}${path}`, {
      ...init,
      headers: { 'X-API-Key': API_KEY, ...(init?.headers ?? {}) },
    });
    return (await res.json()) as T;
  };
  const secret = async (name: string) =>
    (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter;
  const routesOf = async () => {
    const out = await bed.ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [{ Name: 'tag:waveshift:deployment', Values: [DEPLOYMENT] }],
      }),
    );
    return (out.RouteTables ?? []).map((t) =>
      (t.Routes ?? [])
        .filter((r) => r.DestinationCidrBlock?.startsWith('10.8.'))
        .map((r) => `${r.DestinationCidrBlock}→${r.NetworkInterfaceId}`)
        .sort(),
    );
  };
  const eniOf = async (instanceId: string) => {
    const out = await bed.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return out.Reservations![0]!.Instances![0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
  };

  beforeAll(async () => {
    bed = await startSiteBed();
    ssm = new SSMClient({
      region: REGION,
      endpoint: bed.moto.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  }, 120_000);
  afterAll(async () => {
    ssm?.destroy();
    await bed?.stop();
  });

  it('refuses sites while there is no access server, changing nothing', async () => {
    const run = await bed.cli(['sites', '--add', '2']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/need an access server.*access-servers --add 1/);
    expect((await config()).sites).toEqual([]);
  });

  it('launches an access server: EIP, source/dest check off, WireGuard SG, key in SSM only', async () => {
    const run = await bed.cli(['access-servers', '--add', '1', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const [server] = (await config()).accessServers;
    expect(server).toMatchObject({ index: 0, listenPort: 51820 });
    const key = await secret(`/waveshift/${DEPLOYMENT}/access-servers/0/wireguard-private-key`);
    expect(key?.Type).toBe('SecureString');
    expect(publicKeyOf(key!.Value!)).toBe(server!.publicKey);
    expect(run.stdout + run.stderr).not.toContain(key!.Value!);

    const attr = await bed.ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: server!.instanceId!, Attribute: 'sourceDestCheck' }),
    );
    expect(attr.SourceDestCheck?.Value).toBe(false);
    const userData = await bed.ec2.send(
      new DescribeInstanceAttributeCommand({ InstanceId: server!.instanceId!, Attribute: 'userData' }),
    );
    const script = Buffer.from(userData.UserData?.Value ?? '', 'base64').toString('utf8');
    expect(script).toContain(
      `--name /waveshift/${DEPLOYMENT}/access-servers/0/wireguard-private-key --with-decryption`,
    );
    expect(script).not.toContain(key!.Value!);
    const eips = await bed.ec2.send(
      new DescribeAddressesCommand({
        Filters: [{ Name: 'tag:waveshift:component', Values: ['access-server-0-eip'] }],
      }),
    );
    expect(eips.Addresses?.[0]).toMatchObject({ InstanceId: server!.instanceId, PublicIp: server!.publicIp });
    const groups = await bed.ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'tag:waveshift:component', Values: ['access-server'] }],
      }),
    );
    const udp = groups.SecurityGroups?.[0]?.IpPermissions?.find((p) => p.IpProtocol === 'udp');
    expect(udp).toMatchObject({ FromPort: 51820, ToPort: 51820, IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
    const table = await bed.cli(['access-servers', '--list']);
    expect(table.stdout).toMatch(
      /^INDEX\s+INSTANCE\s+STATE\s+PUBLIC IP\s+PUBLIC KEY\s+SITES\s+TUNNEL HEALTH$/m,
    );
    expect(table.stdout).toContain(`${server!.instanceId}  running`);
    // moto runs no command: the health cannot be measured there, and the table says so instead of guessing.
    expect(table.stdout).toMatch(/-\s+unknown \(no answer from the instance\)$/m);
    const listed = await api<{ accessServers: { index: number; endpoint: string; tunnelAddress: string }[] }>(
      '/api/access-servers',
    );
    expect(listed.accessServers).toMatchObject([
      { index: 0, endpoint: `${server!.publicIp}:51820`, tunnelAddress: '10.9.0.1' },
    ]);
  });

  it('prints the plan of an --add with --dry-run and changes nothing', async () => {
    bed.seen.length = 0;
    const run = await bed.cli(['sites', '--add', '3', '--dry-run', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const plan = run.json<{
      add: unknown[];
      routes: { action: string; cidr: string }[];
      controllerRequests: number;
    }>();
    expect(plan.add).toEqual([0, 1, 2].map((number) => ({ number, accessServer: 0 })));
    expect(plan.routes.map((r) => `${r.action} ${r.cidr}`)).toEqual([
      'create 10.8.0.0/16',
      'create 10.8.0.0/16',
    ]);
    expect(plan.controllerRequests).toBe(1);
    expect(bed.seen).toEqual([]);
    expect((await config()).sites).toEqual([]);
    await expect(secret(`/waveshift/${DEPLOYMENT}/sites/0/scanner-key`)).rejects.toThrow(/not found/);
    expect((await routesOf()).flat()).toEqual([]);
    const human = await bed.cli(['sites', '--add', '1', '--dry-run']);
    expect(human.stdout).toMatch(
      /would add site 0 \(10\.8\.0\.0\/24\) on access server 0\n[\s\S]*dry run: nothing was changed/,
    );
  });

  it('adds sites in one controller round trip, with peers, routes and a working scanner key', async () => {
    bed.seen.length = 0;
    const run = await bed.cli(['sites', '--add', '3', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<{ added: number[]; controllerRoundTrips: number }>()).toMatchObject({
      added: [0, 1, 2],
      controllerRoundTrips: 1,
    });
    expect(bed.seen).toEqual(['PUT /api/sites']);
    const cfg = await config();
    expect(cfg.sites.map((s) => [s.number, s.accessServer, s.registered])).toEqual([
      [0, 0, true],
      [1, 0, true],
      [2, 0, true],
    ]);
    const { sites } = await api<{ sites: { number: number; cidr: string; publicKey: string }[] }>(
      '/api/sites',
    );
    expect(sites.map((s) => [s.number, s.cidr, s.publicKey])).toEqual(
      cfg.sites.map((s) => [s.number, `10.8.${s.number}.0/24`, s.publicKey]),
    );
    // The registration carried the scanner key's hash: the key in SSM now authenticates site 1's scanner.
    const scannerKey = (await secret(`/waveshift/${DEPLOYMENT}/sites/1/scanner-key`))!.Value!;
    const report = await fetch(`${bed.controller.url}/api/sites/1/devices`, {
      method: 'POST',
      headers: { 'X-API-Key': scannerKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ scannedAt: new Date().toISOString(), devices: [{ ip: '10.8.1.20' }] }),
    });
    expect(report.status).toBe(200);
    const privateKey = (await secret(`/waveshift/${DEPLOYMENT}/sites/1/wireguard-private-key`))!.Value!;
    expect(publicKeyOf(privateKey)).toBe(cfg.sites[1]!.publicKey);
    // Peers went to the access server through SSM Run Command: public keys, never a private key.
    const commands = await ssm.send(new ListCommandsCommand({}));
    const peerScripts = (commands.Commands ?? [])
      .map((c) => c.Parameters?.commands?.join('\n') ?? '')
      .filter((s) => s.includes('wg syncconf'));
    expect(peerScripts.at(-1)).toContain(cfg.sites[2]!.publicKey);
    expect(peerScripts.join('\n')).not.toContain(privateKey);
    // One aggregated route per route table: the whole site range to the only access server's ENI.
    const eni = await eniOf(cfg.accessServers[0]!.instanceId!);
    expect(await routesOf()).toEqual([[`10.8.0.0/16→${eni}`], [`10.8.0.0/16→${eni}`]]);
  });

  it('lists, shows and exports a site; the private key only on request', async () => {
    const list = await bed.cli(['sites', '--list', '--json']);
    expect(list.json<{ sites: { number: number; status: string }[] }>().sites.map((s) => s.status)).toEqual([
      'registered',
      'registered',
      'registered',
    ]);
    const show = await bed.cli(['sites', '--show', '2']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('controller        no scan report yet; 0 of 0 devices online');
    const reported = await bed.cli(['sites', '--show', '1', '--json']);
    expect(reported.json()).toMatchObject({ controller: { state: 'known', deviceCount: 1, onlineCount: 1 } });
    bed.failNext(/^GET \/api\/sites\/2$/);
    const unreachable = await bed.cli(['sites', '--show', '2']);
    expect(unreachable.code).toBe(0);
    expect(unreachable.stdout).toMatch(
      /controller {8}unknown \(controller refused GET \/api\/sites\/2 .*HTTP 502/,
    );
    const server = (await config()).accessServers[0]!;
    expect(show.stdout).toContain('LAN               10.8.2.0/24, gateway 10.8.2.1');
    expect(show.stdout).toContain(`endpoint ${server.publicIp}:51820`);
    const privateKey = (await secret(`/waveshift/${DEPLOYMENT}/sites/2/wireguard-private-key`))!.Value!;
    expect(show.stdout).not.toContain(privateKey);
    const plain = await bed.cli(['sites', '--export-config', '2']);
    expect(plain.stdout).toContain('PrivateKey = <omitted');
    expect(plain.stdout).not.toContain(privateKey);
    expect(plain.stdout).toContain(`Endpoint = ${server.publicIp}:51820`);
    expect(plain.stdout).toContain('AllowedIPs = 10.0.0.0/16, 10.9.0.0/24');
    const withKey = await bed.cli(['sites', '--export-config', '2', '--include-private-key']);
    expect(withKey.stdout).toContain(`PrivateKey = ${privateKey}`);
    expect(plain.stdout).toContain('MTU = 1420');
    expect((await bed.cli(['sites', '--export-config', '2', '--mtu', '1412'])).stdout).toContain(
      'MTU = 1412',
    );
    const badMtu = await bed.cli(['sites', '--export-config', '2', '--mtu', '9000']);
    expect(badMtu.code).toBe(2);
    expect(badMtu.stderr).toMatch(/wavectl: --mtu must be .*1280.*1500/);
    expect((await bed.cli(['sites', '--list', '--mtu', '1400'])).code).toBe(2);
    expect((await bed.cli(['sites', '--show', '9'])).code).toBe(2);
    expect((await bed.cli(['sites', '--list', '--remove', '1'])).code).toBe(2);
    expect((await bed.cli(['sites', '--list', '--include-private-key'])).code).toBe(2);
  });

  it('finishes an interrupted --add when run again: the sites show as unregistered meanwhile', async () => {
    bed.failNext(/^PUT \/api\/sites$/);
    const failed = await bed.cli(['sites', '--add', '2']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/HTTP 502/);
    const list = await bed.cli(['sites', '--list']);
    expect(list.stdout).toMatch(/3\s+site-3.*unregistered/);
    expect(list.stdout).toMatch(
      /2 sites are unregistered \(left half-made by an interrupted run\): run `wavectl sites --add 2` to finish/,
    );
    expect((await bed.cli(['sites', '--list', '--json'])).json()).toMatchObject({
      finish: 'wavectl sites --add 2',
    });
    expect((await api<{ sites: unknown[] }>('/api/sites')).sites).toHaveLength(3);
    const again = await bed.cli(['sites', '--add', '2', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toMatchObject({ added: [], finished: [3, 4] });
    expect((await config()).sites.map((s) => s.registered)).toEqual([true, true, true, true, true]);
    expect((await api<{ sites: unknown[] }>('/api/sites')).sites).toHaveLength(5);
  });

  it('removes a list of sites: only with consent; dry run first; then deregistered, peers and routes updated, secrets gone, numbers free', async () => {
    const before = await config();
    const refused = await bed.cli(['sites', '--remove', '1,3']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'wavectl: refusing to remove sites 1, 3 without --yes (no terminal to ask)',
    );
    expect(await config()).toEqual(before);
    const declined = await runCli(['sites', '--remove', '1,3', '--dir', bed.dir], {
      cwd: bed.dir,
      env: bed.env,
      tty: true,
      stdin: 'yes\n',
    });
    expect(declined.stderr).toContain(`Type "${DEPLOYMENT}" to continue:`);
    expect(declined.stderr).toMatch(/wavectl: not confirmed; nothing was changed/);
    expect(await config()).toEqual(before);
    const unknown = await bed.cli(['sites', '--remove', '1,9', '--yes']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/there is no site 9;/);
    const dry = await bed.cli(['sites', '--remove', '1,3', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({
      mode: 'dry-run',
      deregister: [1, 3],
      accessServers: [0],
      ssmParameters: [
        `/waveshift/${DEPLOYMENT}/sites/1/wireguard-private-key`,
        `/waveshift/${DEPLOYMENT}/sites/1/scanner-key`,
        `/waveshift/${DEPLOYMENT}/sites/3/wireguard-private-key`,
        `/waveshift/${DEPLOYMENT}/sites/3/scanner-key`,
      ],
    });
    expect(await config()).toEqual(before);
    expect(await secret(`/waveshift/${DEPLOYMENT}/sites/1/scanner-key`)).toBeDefined();

    const removedKeys = before.sites.filter((s) => s.number === 1 || s.number === 3).map((s) => s.publicKey);
    const run = await bed.cli(['sites', '--remove', '1,3', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('removed sites 1, 3; their numbers are free again');
    expect((await config()).sites.map((s) => s.number)).toEqual([0, 2, 4]);
    expect((await api<{ sites: { number: number }[] }>('/api/sites')).sites.map((s) => s.number)).toEqual([
      0, 2, 4,
    ]);
    for (const n of [1, 3]) {
      await expect(secret(`/waveshift/${DEPLOYMENT}/sites/${n}/wireguard-private-key`)).rejects.toThrow(
        /not found/,
      );
      await expect(secret(`/waveshift/${DEPLOYMENT}/sites/${n}/scanner-key`)).rejects.toThrow(/not found/);
    }
    // The access server's new peer list (the last one pushed) no longer holds the sites; the others stay.
    const commands = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    const last = commands
      .filter((c) => c.Comment === 'wavectl peers of access server 0')
      .sort((a, b) => (a.RequestedDateTime?.getTime() ?? 0) - (b.RequestedDateTime?.getTime() ?? 0))
      .at(-1);
    const script = last?.Parameters?.commands?.join('\n') ?? '';
    for (const key of removedKeys) expect(script).not.toContain(key);
    expect(script).toContain('# site 0\n');
    expect(script).toContain('# site 4\n');
    const add = await bed.cli(['sites', '--add', '2', '--json']);
    expect(add.json()).toMatchObject({ added: [1, 3] });
  });

  it('finishes an interrupted access-servers --add when run again, without launching another', async () => {
    bed.failNext(/^PUT \/api\/access-servers$/);
    const badType = await bed.cli(['access-servers', '--add', '1', '--instance-type', 't3.gigantic']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/--instance-type: must be a known instance type/);
    const failed = await bed.cli(['access-servers', '--add', '1', '--instance-type', 't3.nano']);
    expect(failed.code).toBe(1);
    const recorded = (await config()).accessServers;
    expect(recorded.map((a) => [a.index, Boolean(a.instanceId), a.registered])).toEqual([
      [0, true, true],
      [1, true, false],
    ]);
    const halfMade = await bed.cli(['access-servers', '--list']);
    expect(halfMade.stdout).toMatch(/^1\s+i-\S+\s+running, unregistered\s/m);
    expect(halfMade.stdout).toContain(
      '1 access server is unregistered (left half-made by an interrupted run): run `wavectl access-servers --add 1` to finish',
    );
    const again = await bed.cli(['access-servers', '--add', '1', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const after = (await config()).accessServers;
    expect(after.map((a) => [a.index, a.instanceId, a.registered])).toEqual([
      [0, recorded[0]!.instanceId, true],
      [1, recorded[1]!.instanceId, true],
    ]);
    const listed = await api<{ accessServers: { index: number }[] }>('/api/access-servers');
    expect(listed.accessServers.map((a) => a.index)).toEqual([0, 1]);
    const instances = await bed.ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'tag:waveshift:component', Values: ['access-server-1'] }],
      }),
    );
    const launched = instances.Reservations?.flatMap((r) => r.Instances ?? []) ?? [];
    expect(launched.map((i) => i.InstanceType)).toEqual(['t3.nano']);
  });

  it('fits 256 sites across two access servers within the route quota, and refuses the 257th', async () => {
    const run = await bed.cli(['sites', '--add', '251', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<{ controllerRoundTrips: number }>().controllerRoundTrips).toBe(1);
    const cfg = await config();
    expect(cfg.sites).toHaveLength(256);
    // Blocks of 16 stay on one server; new blocks went to the emptier server.
    expect(
      new Set(cfg.sites.filter((s) => s.number >= 16 && s.number < 32).map((s) => s.accessServer)),
    ).toEqual(new Set([1]));
    const routes = await routesOf();
    expect(routes[0]!.length).toBeLessThanOrEqual(16);
    expect(routes[0]).toEqual(routes[1]);
    const refused = await bed.cli(['sites', '--add', '1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(/at most 256 sites and 0 numbers are free; nothing was changed$/);
    expect((await config()).sites).toHaveLength(256);
    expect((await api<{ sites: unknown[] }>('/api/sites')).sites).toHaveLength(256);
  });

  it('refuses to remove an access server that carries sites, and moves them with --force', async () => {
    const refused = await bed.cli(['access-servers', '--remove', '1', '--yes']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/still carries sites .*--force/);
    const before = await config();
    const unconsented = await bed.cli(['access-servers', '--remove', '1', '--force']);
    expect(unconsented.code).toBe(2);
    expect(unconsented.stderr.trim()).toBe(
      'wavectl: refusing to remove access server 1 without --yes (no terminal to ask)',
    );
    const dry = await bed.cli(['access-servers', '--remove', '1', '--force', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = dry.json<{ terminate: number[]; movedSites: { accessServer: number }[] }>();
    expect(plan.terminate).toEqual([1]);
    expect(plan.movedSites).toHaveLength(128);
    expect(new Set(plan.movedSites.map((m) => m.accessServer))).toEqual(new Set([0]));
    expect(await config()).toEqual(before);
    const list = await bed.cli(['access-servers', '--list', '--json']);
    const rows = list.json<{
      accessServers: { index: number; sites: number[]; health: { state: string } }[];
    }>().accessServers;
    expect(rows.map((r) => r.sites.length)).toEqual([128, 128]);
    const forced = await bed.cli(['access-servers', '--remove', '1', '--force', '--yes', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    const cfg = await config();
    expect(cfg.accessServers.map((a) => a.index)).toEqual([0]);
    expect(new Set(cfg.sites.map((s) => s.accessServer))).toEqual(new Set([0]));
    expect(cfg.sites.every((s) => s.registered)).toBe(true);
    const eni = await eniOf(cfg.accessServers[0]!.instanceId!);
    expect(await routesOf()).toEqual([[`10.8.0.0/16→${eni}`], [`10.8.0.0/16→${eni}`]]);
    const { sites } = await api<{ sites: { accessServer: number }[] }>('/api/sites');
    expect(new Set(sites.map((s) => s.accessServer))).toEqual(new Set([0]));
    expect((await api<{ accessServers: unknown[] }>('/api/access-servers')).accessServers).toHaveLength(1);
  });
});
