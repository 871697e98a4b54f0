import { describe, expect, it } from 'vitest';
import {
  chooseAccessServer,
  lowestFreeSiteNumbers,
  siteCidr,
  siteGateway,
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
