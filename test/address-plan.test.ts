import { describe, expect, it } from 'vitest';
import {
  accessServerTunnelIp,
  blockOf,
  chooseAccessServer,
  isSiteNumber,
  lowestFreeSiteNumbers,
  MAX_ACCESS_SERVERS,
  SITE_ALLOWED_IPS,
  SITE_COUNT,
  SITES_CIDR,
  siteCidr,
  siteDhcpRange,
  siteGateway,
  siteTunnelAddress,
  TUNNEL_CIDR,
  VPC_CIDR,
  vpcSiteRoutes,
} from '../src/network/address-plan';

describe('address plan', () => {
  it('gives site N its /24 and gateway', () => {
    expect(siteCidr(0)).toBe('10.8.0.0/24');
    expect(siteGateway(255)).toBe('10.8.255.1');
  });

  it('hands out the lowest free numbers and refuses the 257th site', () => {
    expect(lowestFreeSiteNumbers([0, 1, 3], 3)).toEqual([2, 4, 5]);
    const all = Array.from({ length: 255 }, (_, i) => i);
    expect(lowestFreeSiteNumbers(all, 1)).toEqual([255]);
    expect(() => lowestFreeSiteNumbers([...all, 255], 1)).toThrow(RangeError);
  });

  it('keeps a block on one access server and balances new blocks', () => {
    const sites = [
      { number: 0, accessServer: 1 },
      { number: 16, accessServer: 0 },
    ];
    expect(chooseAccessServer(sites, [0, 1], 5)).toBe(1);
    expect(chooseAccessServer(sites, [0, 1, 2], 40)).toBe(2);
    expect(chooseAccessServer([], [3, 1], 0)).toBe(1);
  });

  it('aggregates VPC routes: one server needs one route for all 256 sites', () => {
    const sites = Array.from({ length: 256 }, (_, n) => ({ number: n, accessServer: 0 }));
    expect(vpcSiteRoutes(sites)).toEqual([{ cidr: '10.8.0.0/16', accessServer: 0 }]);
  });

  it('stays within 16 routes whatever the assignment', () => {
    const sites = Array.from({ length: 256 }, (_, n) => ({
      number: n,
      accessServer: Math.floor(n / 16) % 5,
    }));
    const routes = vpcSiteRoutes(sites);
    expect(routes.length).toBeLessThanOrEqual(16);
    for (const s of sites) {
      const covering = routes.filter((r) => {
        const [base, len] = r.cidr.split('/');
        const third = Number(base!.split('.')[2]);
        const span = 2 ** (24 - Number(len));
        return s.number >= third && s.number < third + span;
      });
      expect(covering).toHaveLength(1);
      expect(covering[0]!.accessServer).toBe(s.accessServer);
    }
  });
});

/** The /24 numbers a route of 10.8.0.0/16 covers. */
function covered(cidr: string): number[] {
  const [base, len] = cidr.split('/');
  const third = Number(base!.split('.')[2]);
  const span = 2 ** (24 - Number(len));
  return Array.from({ length: span }, (_, i) => third + i);
}

/** A small deterministic PRNG so that property checks are reproducible. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('address plan, exhaustively', () => {
  it('gives every site number its own /24, gateway and tunnel address, and nothing else is a site', () => {
    const cidrs = new Set<string>();
    for (let n = 0; n < SITE_COUNT; n++) {
      expect(isSiteNumber(n)).toBe(true);
      expect(siteCidr(n)).toBe(`10.8.${n}.0/24`);
      expect(siteGateway(n)).toBe(`10.8.${n}.1`);
      expect(siteTunnelAddress(n)).toBe(`10.8.${n}.1/32`);
      const dhcp = siteDhcpRange(n);
      expect([dhcp.first, dhcp.last]).toEqual([`10.8.${n}.100`, `10.8.${n}.249`]);
      expect(dhcp.start + dhcp.limit - 1).toBe(249);
      cidrs.add(siteCidr(n));
    }
    expect(cidrs.size).toBe(256);
    for (const bad of [-1, 256, 1.5, Number.NaN]) expect(isSiteNumber(bad)).toBe(false);
  });

  it('keeps access-server tunnel addresses distinct and outside the VPC and site ranges', () => {
    const ips = Array.from({ length: MAX_ACCESS_SERVERS }, (_, k) => accessServerTunnelIp(k));
    expect(new Set(ips).size).toBe(MAX_ACCESS_SERVERS);
    for (const ip of ips) expect(ip).toMatch(/^10\.9\.0\.([1-9]|[1-5]\d|6[0-4])$/);
    expect(SITE_ALLOWED_IPS).toEqual([VPC_CIDR, TUNNEL_CIDR]);
    expect(SITE_ALLOWED_IPS).not.toContain(SITES_CIDR);
  });

  it('always hands out the lowest free numbers, for random taken sets', () => {
    const random = prng(7);
    for (let round = 0; round < 200; round++) {
      const taken = Array.from({ length: Math.floor(random() * 256) }, () => Math.floor(random() * 256));
      const used = new Set(taken);
      const free = SITE_COUNT - used.size;
      const count = Math.floor(random() * (free + 1));
      const got = lowestFreeSiteNumbers(taken, count);
      const expected = Array.from({ length: 256 }, (_, n) => n)
        .filter((n) => !used.has(n))
        .slice(0, count);
      expect(got).toEqual(expected);
      expect(() => lowestFreeSiteNumbers(taken, free + 1)).toThrow(RangeError);
    }
  });

  it('assigns deterministically, ignoring servers that no longer exist, and needs one server', () => {
    const sites = [{ number: 3, accessServer: 9 }];
    expect(chooseAccessServer(sites, [0, 1], 4)).toBe(0);
    expect(chooseAccessServer(sites, [1, 0], 4)).toBe(0);
    expect(() => chooseAccessServer([], [], 0)).toThrow(RangeError);
  });

  it('routes every used site to its server, and no other block, within 16 routes (random assignments)', () => {
    const random = prng(42);
    for (let round = 0; round < 300; round++) {
      const servers = 1 + Math.floor(random() * 8);
      const sites: { number: number; accessServer: number }[] = [];
      for (let n = 0; n < SITE_COUNT; n++) {
        if (random() < 0.4)
          sites.push({
            number: n,
            accessServer: chooseAccessServer(
              sites,
              Array.from({ length: servers }, (_, k) => k),
              n,
            ),
          });
      }
      const routes = vpcSiteRoutes(sites);
      expect(routes.length).toBeLessThanOrEqual(16);
      const owner = new Map<number, number>();
      for (const r of routes)
        for (const n of covered(r.cidr)) {
          expect(owner.has(n)).toBe(false);
          owner.set(n, r.accessServer);
        }
      for (const s of sites) expect(owner.get(s.number)).toBe(s.accessServer);
      // A route never covers a block whose sites belong to another server.
      for (const r of routes)
        for (const n of covered(r.cidr)) {
          const other = sites.find(
            (s) => blockOf(s.number) === blockOf(n) && s.accessServer !== r.accessServer,
          );
          expect(other).toBeUndefined();
        }
    }
  });

  it('routes nothing without sites, and merges adjacent blocks of one server (unused blocks included)', () => {
    expect(vpcSiteRoutes([])).toEqual([]);
    expect(
      vpcSiteRoutes([
        { number: 0, accessServer: 0 },
        { number: 16, accessServer: 0 },
        { number: 32, accessServer: 1 },
      ]),
    ).toEqual([
      { cidr: '10.8.0.0/19', accessServer: 0 },
      { cidr: '10.8.32.0/19', accessServer: 1 },
    ]);
  });
});
