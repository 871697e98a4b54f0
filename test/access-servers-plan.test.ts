import { describe, expect, it } from 'vitest';
import { planAddAccessServers } from '../src/access-servers/add';
import { accessServerIngress, accessServerPolicy } from '../src/access-servers/aws';
import { parseHandshakes, siteRanges } from '../src/access-servers/list';
import { peersByServer } from '../src/access-servers/peers';
import { planAccessServerRemoval, planReassignment } from '../src/access-servers/remove';
import { planSiteRoutes } from '../src/access-servers/routes';
import { renderAccessServerUserData } from '../src/access-servers/user-data';
import { numberList } from '../src/commands/numbers';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { UsageError } from '../src/errors';
import { planSiteRemoval } from '../src/sites/remove';

const server = (index: number, launched = true): AccessServerRecord => ({
  index,
  publicKey: `pk${index}`,
  listenPort: 51820,
  ...(launched ? { instanceId: `i-${index}`, publicIp: `198.51.100.${index + 1}`, registered: true } : {}),
});
const site = (number: number, accessServer: number): SiteRecord => ({
  number,
  name: `site-${number}`,
  publicKey: `key-${number}`,
  accessServer,
  registered: true,
});

describe('planAddAccessServers', () => {
  it('finishes unlaunched records first, then takes the lowest free indexes', () => {
    expect(planAddAccessServers([], 2)).toEqual([0, 1]);
    expect(planAddAccessServers([server(0), server(2)], 2)).toEqual([1, 3]);
    expect(planAddAccessServers([server(0), server(1, false)], 1)).toEqual([1]);
    expect(planAddAccessServers([server(0), server(1, false)], 2)).toEqual([1, 2]);
    // Launched but never accepted by the controller: a re-run registers it instead of launching another.
    expect(planAddAccessServers([server(0), { ...server(1), registered: false }], 1)).toEqual([1]);
  });

  it('refuses more than 64', () => {
    const all = Array.from({ length: 63 }, (_, i) => server(i));
    expect(planAddAccessServers(all, 1)).toEqual([63]);
    expect(() => planAddAccessServers(all, 2)).toThrow(/at most 64, and 1 are free/);
  });
});

describe('planSiteRoutes', () => {
  const enis = new Map([
    [0, 'eni-0'],
    [1, 'eni-1'],
  ]);

  it('creates one aggregated route per table for a single server', () => {
    const sites = [site(0, 0), site(40, 0)];
    expect(planSiteRoutes(['rtb-a', 'rtb-b'], [], sites, enis)).toEqual([
      { action: 'create', routeTableId: 'rtb-a', cidr: '10.8.0.0/16', networkInterfaceId: 'eni-0' },
      { action: 'create', routeTableId: 'rtb-b', cidr: '10.8.0.0/16', networkInterfaceId: 'eni-0' },
    ]);
  });

  it('keeps, replaces and deletes routes of the site range only', () => {
    const sites = [site(0, 0), site(16, 1)];
    const current = [
      { routeTableId: 'rtb-a', cidr: '10.8.0.0/20', networkInterfaceId: 'eni-0' },
      { routeTableId: 'rtb-a', cidr: '10.8.16.0/20', networkInterfaceId: 'eni-0' },
      { routeTableId: 'rtb-a', cidr: '10.8.0.0/16', networkInterfaceId: 'eni-0' },
      { routeTableId: 'rtb-a', cidr: '0.0.0.0/0', networkInterfaceId: undefined },
    ];
    expect(planSiteRoutes(['rtb-a'], current, sites, enis)).toEqual([
      { action: 'keep', routeTableId: 'rtb-a', cidr: '10.8.0.0/20', networkInterfaceId: 'eni-0' },
      {
        action: 'update',
        routeTableId: 'rtb-a',
        cidr: '10.8.16.0/20',
        networkInterfaceId: 'eni-1',
        before: 'eni-0',
      },
      { action: 'delete', routeTableId: 'rtb-a', cidr: '10.8.0.0/16', before: 'eni-0' },
    ]);
  });

  it('removes every site route when no site is left, and fails without an ENI for a server', () => {
    const current = [{ routeTableId: 'rtb-a', cidr: '10.8.0.0/16', networkInterfaceId: 'eni-0' }];
    expect(planSiteRoutes(['rtb-a'], current, [], enis)).toEqual([
      { action: 'delete', routeTableId: 'rtb-a', cidr: '10.8.0.0/16', before: 'eni-0' },
    ]);
    expect(() => planSiteRoutes(['rtb-a'], [], [site(0, 5)], enis)).toThrow(
      /access server 5 has no network interface/,
    );
  });

  it('stays within 16 routes per table at 256 sites on many servers', () => {
    const many = new Map(Array.from({ length: 16 }, (_, k) => [k, `eni-${k}`] as const));
    const sites = Array.from({ length: 256 }, (_, n) => site(n, Math.floor(n / 16) % 16));
    const changes = planSiteRoutes(['rtb-a', 'rtb-b'], [], sites, many);
    expect(changes.filter((c) => c.routeTableId === 'rtb-a')).toHaveLength(16);
  });
});

describe('planReassignment', () => {
  it('moves a removed server’s sites, block by block, to the others', () => {
    const config = {
      accessServers: [server(0), server(1), server(2)],
      sites: [site(0, 0), site(1, 0), site(16, 1), site(17, 1), site(32, 2)],
    };
    const moved = planReassignment(config, [1]);
    expect(moved.map((s) => [s.number, s.registered])).toEqual([
      [16, false],
      [17, false],
    ]);
    expect(new Set(moved.map((s) => s.accessServer)).size).toBe(1);
    expect(moved[0]!.accessServer).not.toBe(1);
    expect(planReassignment(config, [2])).toHaveLength(1);
  });

  it('has nothing to move for an empty server, and refuses when no other server exists', () => {
    expect(planReassignment({ accessServers: [server(0)], sites: [] }, [0])).toEqual([]);
    expect(() => planReassignment({ accessServers: [server(0)], sites: [site(0, 0)] }, [0])).toThrow(
      UsageError,
    );
  });
});

describe('access server facts', () => {
  it('gives each server the peers of its own sites', () => {
    const result = peersByServer([server(0), server(1)], [site(0, 0), site(16, 1), site(1, 0)]);
    expect(result.map((r) => r.peers.map((p) => p.site))).toEqual([[0, 1], [16]]);
  });

  it('opens WireGuard to the world and everything to the VPC only', () => {
    expect(accessServerIngress(51820)).toEqual([
      expect.objectContaining({
        IpProtocol: 'udp',
        FromPort: 51820,
        ToPort: 51820,
        IpRanges: [expect.objectContaining({ CidrIp: '0.0.0.0/0' })],
      }),
      expect.objectContaining({
        IpProtocol: '-1',
        IpRanges: [expect.objectContaining({ CidrIp: '10.0.0.0/16' })],
      }),
    ]);
  });

  it('lets the instance read its own keys and nothing else', () => {
    expect(JSON.stringify(accessServerPolicy('acme', 'eu-west-1'))).toContain(
      '"Resource":"arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/access-servers/*"',
    );
    expect(JSON.stringify(accessServerPolicy('acme', 'eu-west-1'))).not.toContain('sites');
  });

  it('boots from user data that fetches the key with the instance role and holds no secret', () => {
    const script = renderAccessServerUserData({
      deployment: 'acme',
      region: 'eu-west-1',
      index: 3,
      listenPort: 51820,
    });
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toContain(
      'aws ssm get-parameter --region eu-west-1 --name /waveshift/acme/access-servers/3/wireguard-private-key --with-decryption',
    );
    expect(script).toContain('ip address replace 10.9.0.4/32 dev wg0');
    expect(script).toContain('systemctl enable --now waveshift-wireguard.service');
    expect(script).not.toMatch(/PrivateKey = [A-Za-z0-9+/]{43}=/);
  });

  it('reads tunnel health from wg latest-handshakes', () => {
    const now = 1_000_000;
    const output = `k1\t${now - 30}\nk2\t${now - 600}\nk3\t0\nWAVESHIFT-WG-OK\n`;
    expect(parseHandshakes(output, now)).toEqual({ state: 'measured', peers: 3, upPeers: 1 });
    expect(parseHandshakes('WAVESHIFT-WG-OK\n', now)).toEqual({ state: 'measured', peers: 0, upPeers: 0 });
    expect(parseHandshakes('', now)).toMatchObject({ state: 'unknown' });
  });

  it('prints site numbers as ranges', () => {
    expect(siteRanges([3, 0, 1, 2, 7, 9, 10])).toBe('0-3, 7, 9-10');
    expect(siteRanges([])).toBe('-');
  });
});

describe('numberList (--remove 3,5-7)', () => {
  it('expands lists and ranges, sorted and unique', () => {
    expect(numberList('--remove', '3,5-7', 0, 255, 'site number')).toEqual([3, 5, 6, 7]);
    expect(numberList('--remove', ' 7 , 5-7,0', 0, 255, 'site number')).toEqual([0, 5, 6, 7]);
    expect(numberList('--remove', '63', 0, 63, 'access server index')).toEqual([63]);
  });

  it('names the option and the bad part', () => {
    expect(() => numberList('--remove', '3,x', 0, 255, 'site number')).toThrow(
      /^--remove: "x" is not a site number or range/,
    );
    expect(() => numberList('--remove', '7-5', 0, 255, 'site number')).toThrow(/runs backwards/);
    expect(() => numberList('--remove', '64', 0, 63, 'access server index')).toThrow(/0-63; "64"/);
    expect(() => numberList('--remove', '', 0, 63, 'access server index')).toThrow(UsageError);
    expect(() => numberList('--remove', '1,,2', 0, 63, 'access server index')).toThrow(UsageError);
  });
});

describe('planSiteRemoval', () => {
  const config = { name: 'demo', sites: [site(0, 0), site(3, 0), site(5, 1), site(6, 1), site(7, 1)] };

  it('lists the secrets, the access servers whose peers change, and what remains', () => {
    const plan = planSiteRemoval(config, [3, 5]);
    expect(plan.ssmParameters).toEqual([
      '/waveshift/demo/sites/3/wireguard-private-key',
      '/waveshift/demo/sites/3/scanner-key',
      '/waveshift/demo/sites/5/wireguard-private-key',
      '/waveshift/demo/sites/5/scanner-key',
    ]);
    expect(plan.accessServers).toEqual([0, 1]);
    expect(plan.remaining.map((s) => s.number)).toEqual([0, 6, 7]);
  });

  it('refuses the whole list when one number is not a site', () => {
    expect(() => planSiteRemoval(config, [3, 4, 9])).toThrow(/there is no site 4, 9;.*nothing was changed/);
  });
});

describe('planAccessServerRemoval', () => {
  const config = {
    name: 'demo',
    accessServers: [server(0), server(1), server(2)],
    sites: [site(0, 0), site(16, 1), site(32, 2)],
  };

  it('refuses servers that carry sites unless forced, naming them', () => {
    expect(() => planAccessServerRemoval(config, [1, 2], false)).toThrow(
      /access servers 1, 2 still carry sites 16, 32; pass --force/,
    );
  });

  it('moves the sites of every removed server onto servers that stay', () => {
    const plan = planAccessServerRemoval(config, [1, 2], true);
    expect(plan.movedSites.map((s) => [s.number, s.accessServer])).toEqual([
      [16, 0],
      [32, 0],
    ]);
    expect(plan.ssmParameters).toEqual([
      '/waveshift/demo/access-servers/1/wireguard-private-key',
      '/waveshift/demo/access-servers/2/wireguard-private-key',
    ]);
  });

  it('refuses when no server would remain for the sites, or an index is unknown', () => {
    expect(() => planReassignment(config, [0, 1, 2])).toThrow(/no access server would remain/);
    expect(() => planAccessServerRemoval(config, [4], true)).toThrow(/there is no access server 4/);
  });
});
