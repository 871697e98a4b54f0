import { describe, expect, it } from 'vitest';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { UsageError } from '../src/errors';
import { planAddSites, siteInput, withSites } from '../src/sites/plan';

const server = (index: number, launched = true): AccessServerRecord => ({
  index,
  publicKey: `server-key-${index}`,
  listenPort: 51820,
  ...(launched ? { instanceId: `i-${index}`, publicIp: `198.51.100.${index + 1}` } : {}),
});
const site = (number: number, accessServer = 0, registered = true): SiteRecord => ({
  number,
  name: `site-${number}`,
  publicKey: `key-${number}`,
  accessServer,
  registered,
});
const keyFor = (n: number) => `pub-${n}`;

describe('planAddSites', () => {
  it('numbers new sites from the lowest free numbers and assigns block servers', () => {
    const plan = planAddSites(
      { sites: [site(0), site(2)], accessServers: [server(0), server(1)] },
      3,
      keyFor,
    );
    expect(plan.unfinished).toEqual([]);
    expect(plan.created.map((s) => [s.number, s.accessServer, s.registered, s.publicKey, s.name])).toEqual([
      [1, 0, false, 'pub-1', 'site-1'],
      [3, 0, false, 'pub-3', 'site-3'],
      [4, 0, false, 'pub-4', 'site-4'],
    ]);
  });

  it('puts a new block on the least loaded server, and keeps every block on one server', () => {
    const plan = planAddSites({ sites: [], accessServers: [server(0), server(1)] }, 64, keyFor);
    for (let block = 0; block < 4; block++) {
      const servers = new Set(
        plan.created.filter((s) => Math.floor(s.number / 16) === block).map((s) => s.accessServer),
      );
      expect(servers.size).toBe(1);
    }
    expect(plan.created.filter((s) => s.accessServer === 0)).toHaveLength(32);
  });

  it('counts sites an interrupted run left unregistered toward N (a re-run finishes the job)', () => {
    const config = { sites: [site(0), site(1, 0, false), site(2, 0, false)], accessServers: [server(0)] };
    expect(planAddSites(config, 2, keyFor)).toMatchObject({
      unfinished: [{ number: 1 }, { number: 2 }],
      created: [],
    });
    expect(planAddSites(config, 3, keyFor).created.map((s) => s.number)).toEqual([3]);
  });

  it('refuses without a launched access server', () => {
    expect(() => planAddSites({ sites: [], accessServers: [] }, 1, keyFor)).toThrow(/access-servers --add 1/);
    expect(() => planAddSites({ sites: [], accessServers: [server(0, false)] }, 1, keyFor)).toThrow(
      UsageError,
    );
    // Launched but not accepted by the controller yet (an interrupted `access-servers --add`): takes no sites.
    const unregistered = { ...server(0), registered: false };
    expect(() => planAddSites({ sites: [], accessServers: [unregistered] }, 1, keyFor)).toThrow(
      /access server 0 is not finished \(unregistered\): run `wavectl access-servers --add 1` to finish it first/,
    );
    expect(() => planAddSites({ sites: [], accessServers: [unregistered] }, 1, keyFor)).not.toThrow(
      /has none/,
    );
    const plan = planAddSites({ sites: [], accessServers: [unregistered, server(1)] }, 1, keyFor);
    expect(plan.created[0]!.accessServer).toBe(1);
  });

  it('fits 256 sites and refuses the 257th, and a batch that would overflow, before any key is made', () => {
    const full = planAddSites({ sites: [], accessServers: [server(0)] }, 256, keyFor).created;
    expect(full).toHaveLength(256);
    const made: number[] = [];
    const track = (n: number) => {
      made.push(n);
      return keyFor(n);
    };
    expect(() =>
      planAddSites(
        { sites: full.map((s) => ({ ...s, registered: true })), accessServers: [server(0)] },
        1,
        track,
      ),
    ).toThrow(/at most 256 sites and 0 numbers are free; nothing was changed/);
    expect(() =>
      planAddSites(
        { sites: full.slice(0, 250).map((s) => ({ ...s, registered: true })), accessServers: [server(0)] },
        7,
        track,
      ),
    ).toThrow(/6 numbers are free/);
    expect(made).toEqual([]);
  });

  it('rejects a count that is not a positive whole number', () => {
    for (const bad of [0, -1, 1.5])
      expect(() => planAddSites({ sites: [], accessServers: [server(0)] }, bad, keyFor)).toThrow(UsageError);
  });
});

describe('registration and records', () => {
  it('sends public facts and the scanner key hash only', () => {
    expect(siteInput(site(7, 2), 'f'.repeat(64))).toEqual({
      number: 7,
      name: 'site-7',
      cidr: '10.8.7.0/24',
      publicKey: 'key-7',
      accessServer: 2,
      scannerKeyHash: 'f'.repeat(64),
    });
  });

  it('replaces records by number and keeps them ordered', () => {
    const merged = withSites([site(3), site(0)], [{ ...site(3), registered: false }, site(1)]);
    expect(merged.map((s) => [s.number, s.registered])).toEqual([
      [0, true],
      [1, true],
      [3, false],
    ]);
  });
});
