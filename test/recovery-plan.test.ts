import { describe, expect, it } from 'vitest';
import { planAccessServerRecovery } from '../src/access-servers/recover';
import type { AccessServerRecord, SiteRecord } from '../src/config/schema';
import { planSiteKeyRecovery, siteSecretNames } from '../src/sites/recover';

const KEY = (c: string) => `${c.repeat(42)}A=`;
const server = (index: number, launched = true): AccessServerRecord => ({
  index,
  publicKey: KEY(String(index)),
  listenPort: 51820,
  ...(launched ? { instanceId: `i-${index}`, publicIp: `203.0.113.${index}`, registered: true } : {}),
});
const site = (number: number, accessServer = 0): SiteRecord => ({
  number,
  name: `site-${number}`,
  publicKey: KEY('s'),
  accessServer,
  registered: true,
});
const serverKey = (k: number) => `/waveshift/d/access-servers/${k}/wireguard-private-key`;

describe('access servers recorded but gone', () => {
  const fresh = (k: number) => ({ privateKey: `private-${k}`, publicKey: KEY('n') });

  it('changes nothing while every recorded instance lives', () => {
    const plan = planAccessServerRecovery(
      'd',
      [server(0), server(1)],
      [site(0)],
      new Set([0, 1]),
      new Set(),
      fresh,
    );
    expect(plan).toMatchObject({ recreated: [], renewed: [], secrets: [] });
    expect(plan.accessServers).toEqual([server(0), server(1)]);
    expect(plan.sites).toEqual([site(0)]);
  });

  it('re-creates a gone server with its key when SSM kept it, and marks its sites for finishing', () => {
    const plan = planAccessServerRecovery(
      'd',
      [server(0), server(1)],
      [site(0, 0), site(1, 1)],
      new Set([1]),
      new Set([serverKey(0)]),
      fresh,
    );
    expect(plan).toMatchObject({ recreated: [0], renewed: [], secrets: [] });
    expect(plan.accessServers[0]).toEqual({
      index: 0,
      publicKey: KEY('0'),
      listenPort: 51820,
      registered: false,
    });
    expect(plan.accessServers[1]).toEqual(server(1));
    expect(plan.sites.map((s) => s.registered)).toEqual([false, true]);
  });

  it('gives a gone server whose key SSM lost a new key pair', () => {
    const plan = planAccessServerRecovery('d', [server(0)], [site(0)], new Set(), new Set(), fresh);
    expect(plan).toMatchObject({ recreated: [0], renewed: [0] });
    expect(plan.secrets).toEqual([{ name: serverKey(0), value: 'private-0' }]);
    expect(plan.accessServers[0]?.publicKey).toBe(KEY('n'));
  });

  it('leaves a record that never had an instance to the ordinary unfinished path', () => {
    const plan = planAccessServerRecovery('d', [server(0, false)], [], new Set(), new Set(), fresh);
    expect(plan.recreated).toEqual([]);
  });
});

describe('sites whose keys SSM lost', () => {
  const fresh = (n: number) => ({ privateKey: `p${n}`, publicKey: KEY('z'), scannerKey: `s${n}` });

  it('keeps sites whose two secrets survive and renews the others, marked unregistered', () => {
    const sites = [site(0), site(1), site(2)];
    const names = siteSecretNames('d', sites);
    expect(names).toHaveLength(6);
    // site 0 keeps both, site 1 lost its scanner key only, site 2 lost both.
    const present = new Set([names[0]!, names[1]!, names[2]!]);
    const plan = planSiteKeyRecovery('d', sites, present, fresh);
    expect(plan.renewed).toEqual([1, 2]);
    expect(plan.sites.map((s) => [s.number, s.publicKey === KEY('z'), s.registered])).toEqual([
      [0, false, true],
      [1, true, false],
      [2, true, false],
    ]);
    expect(plan.secrets).toEqual([
      { name: '/waveshift/d/sites/1/wireguard-private-key', value: 'p1' },
      { name: '/waveshift/d/sites/1/scanner-key', value: 's1' },
      { name: '/waveshift/d/sites/2/wireguard-private-key', value: 'p2' },
      { name: '/waveshift/d/sites/2/scanner-key', value: 's2' },
    ]);
  });
});
