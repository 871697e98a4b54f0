import { describe, expect, it } from 'vitest';
import { planAccessServerRemoval, planReassignment } from '../src/access-servers/remove';
import { numberList } from '../src/commands/numbers';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { UsageError } from '../src/errors';
import { planSiteRemoval } from '../src/sites/remove';

const server = (index: number): AccessServerRecord => ({
  index,
  publicKey: `pk${index}`,
  listenPort: 51820,
  instanceId: `i-${index}`,
  registered: true,
});
const site = (number: number, accessServer: number): SiteRecord => ({
  number,
  name: `site-${number}`,
  publicKey: `key-${number}`,
  accessServer,
  registered: true,
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
