import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigureHubResult } from '../src/router/configure-hub';
import { renderApplyScript } from '../src/router/remote-scripts';
import { describeWithNetns } from './helpers/netns';
import { waitFor } from './helpers/ports';
import {
  configureHubRunner,
  type RouterDeployment,
  startRouterDeployment,
} from './helpers/router-deployment';
import {
  FACTORY_CONFIG,
  hubArgs,
  type RouterSandbox,
  type RouterSandboxOptions,
  startRouterSandbox,
} from './helpers/router-sandbox';

const PASSWORD = 'faults';

/**
 * Routers whose configuration the real uci cannot take whole, against the sandbox's faithful uci (its batch
 * exits 0 whatever failed): wavectl reports the router's own error, commits nothing, leaves nothing staged,
 * and converges on a later run once the router is repaired.
 */
describeWithNetns('configure-hub on routers whose uci fails', () => {
  let deployment: RouterDeployment;
  const routers: RouterSandbox[] = [];
  let nextSite = 40;

  const configureHub = (args: string[]) => configureHubRunner(deployment, PASSWORD)(args);

  const router = async (options: RouterSandboxOptions = {}) => {
    const r = await startRouterSandbox({
      password: PASSWORD,
      rebootDownMs: 200,
      packages: ['kmod-wireguard', 'wireguard-tools', 'curl', 'nmap'],
      ...options,
    });
    routers.push(r);
    const site = nextSite++;
    await deployment.addSite(site, `site-${site}`);
    return { r, site };
  };

  const listeningAt = (r: RouterSandbox, host: string) =>
    waitFor(
      `the router at ${host}`,
      async () => {
        if (r.host !== host) throw new Error(`at ${r.host}`);
      },
      20_000,
      100,
    );
  const committed = (r: RouterSandbox) =>
    r.sh('for f in network dhcp firewall; do cat /etc/config/$f 2>/dev/null || echo "no $f"; done');
  const staged = (r: RouterSandbox) =>
    r.sh('for p in network dhcp firewall; do uci -q changes $p; done; true');

  /** The run fails at `step` with `reason`; the router is as it was: same files, nothing staged. */
  async function expectRefused(r: RouterSandbox, site: number, step: string, reason: RegExp) {
    const before = await committed(r);
    const run = await configureHub(hubArgs(site, r));
    expect(run.code).toBe(1);
    const [result] = run.json<ConfigureHubResult>().results;
    expect(result).toMatchObject({ status: 'failed', step });
    if (result?.status !== 'failed') throw new Error('not failed');
    expect(result.reason).toMatch(reason);
    expect(await committed(r)).toBe(before);
    expect(await staged(r)).toBe('');
    expect(await r.calls()).not.toContain('reboot');
  }

  async function expectConverges(r: RouterSandbox, site: number) {
    const run = await configureHub(hubArgs(site, r));
    expect(run.code, run.stderr).toBe(0);
    expect(run.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'changed', online: true });
    expect(await r.sh('uci get network.lan.ipaddr; uci get firewall.waveshift.input')).toBe(
      `10.8.${site}.1\nREJECT\n`,
    );
  }

  beforeAll(async () => {
    deployment = await startRouterDeployment('faults');
  });
  afterAll(async () => {
    for (const r of routers) await r.stop();
    await deployment?.stop();
  });

  it('an unparsable firewall file: refused with the parse error, then converges once repaired', async () => {
    const { r, site } = await router({
      config: { firewall: `${FACTORY_CONFIG.firewall}\nconfig rule\n\toption name 'broken\n` },
    });
    await expectRefused(r, site, 'read', /firewall: uci: Parse error \(unterminated '\)/);
    await r.sh("sed -i \"s/option name 'broken/option name 'repaired'/\" /etc/config/firewall");
    await expectConverges(r, site);
  });

  it('no firewall file: refused naming it, nothing staged, then converges once restored', async () => {
    const { r, site } = await router();
    await r.sh('mv /etc/config/firewall /etc/firewall.saved');
    await expectRefused(r, site, 'read', /firewall: uci: Entry not found/);
    await r.sh('mv /etc/firewall.saved /etc/config/firewall');
    await expectConverges(r, site);
  });

  it('an unparsable dhcp file: refused with the parse error itself', async () => {
    const { r, site } = await router({
      config: { dhcp: `${FACTORY_CONFIG.dhcp}\nconfig host extra words\n` },
    });
    await expectRefused(r, site, 'read', /dhcp: uci: Parse error \(too many arguments\) at line \d+/);
  });

  it('a batch line that fails: reverted, the failed lines named, nothing committed; converges after', async () => {
    const { r, site } = await router();
    // A staging file uci cannot write (as with a full /tmp): every firewall line fails, the others do not.
    await r.sh('mkdir -p /tmp/.uci/firewall');
    await expectRefused(
      r,
      site,
      'apply',
      /uci did not apply set firewall\.waveshift='zone'; .* \(uci: I\/O error.*\); every staged change was reverted and nothing was committed/,
    );
    await r.sh('rmdir /tmp/.uci/firewall');
    await expectConverges(r, site);
  });

  it('a stale tunnel DNS server stored as an option: replaced in one run, the next is unchanged', async () => {
    const { r, site } = await router({
      config: {
        dhcp: FACTORY_CONFIG.dhcp!.replace(
          "\tlist server '/corp.example/192.168.8.53'",
          "\toption server '/internal/10.9.0.7'",
        ),
      },
    });
    await expectConverges(r, site);
    expect(await r.sh('uci get dhcp.@dnsmasq[0].server; uci show dhcp | grep -c "server="')).toMatch(
      /^\/internal\/10\.\d+\.\d+\.\d+\n1\n$/,
    );
    const again = await configureHub(['--site', String(site)]);
    expect(again.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'unchanged', roundTrips: 1 });
  });

  it('an anonymous zone named waveshift is adopted, not duplicated', async () => {
    const { r, site } = await router({
      config: {
        firewall: `${FACTORY_CONFIG.firewall}\nconfig zone\n\toption name 'waveshift'\n\toption input 'ACCEPT'\n\tlist network 'waveshift'\n`,
      },
    });
    await expectConverges(r, site);
    expect(await r.sh('uci show firewall | grep -c "\\.name=.waveshift.$"')).toBe('1\n');
    expect(await r.sh('uci show firewall.waveshift | head -1')).toBe('firewall.waveshift=zone\n');
    const again = await configureHub(['--site', String(site)]);
    expect(again.json<ConfigureHubResult>().results[0]).toMatchObject({ status: 'unchanged' });
    // Management over the tunnel, asked for: the zone accepts input; a firewall reload, no reboot.
    const reboots = (await r.calls()).filter((c) => c === 'reboot').length;
    const manage = await configureHub(['--site', String(site), '--manage-over-tunnel']);
    expect(manage.json<ConfigureHubResult>().results[0]).toMatchObject({
      status: 'changed',
      rebooted: false,
      changes: [{ resource: 'firewall.waveshift.input', before: 'REJECT', after: 'ACCEPT' }],
    });
    expect((await r.calls()).filter((c) => c === 'reboot')).toHaveLength(reboots);
    expect((await r.calls()).at(-1)).toBe('firewall reload');
  });

  it('a power cut during the confirm window: the router boots with its previous configuration', async () => {
    const { r } = await router();
    const script = renderApplyScript({
      batch: ["set network.lan.ipaddr='10.8.99.1'"],
      expected: ["network.lan.ipaddr='10.8.99.1'"],
      packages: ['network'],
      files: [],
      enableCron: false,
      rollbackSeconds: 600,
      lanMoves: true,
    });
    expect(await r.sh(`cat > /tmp/apply.sh <<'APPLY_END'\n${script}APPLY_END\nsh /tmp/apply.sh`)).toBe(
      'apply:detached\n',
    );
    await listeningAt(r, '127.8.99.1');
    expect(await r.sh('uci get network.lan.ipaddr; ls /etc/waveshift/pending-restore')).toBe(
      '10.8.99.1\ndhcp\nfirewall\nnetwork\n',
    );
    // The power goes: the job and its countdown in /tmp are gone with it.
    await r.sh('reboot');
    await listeningAt(r, '127.0.0.1');
    expect(
      await r.sh('uci get network.lan.ipaddr; ls /etc/waveshift; ls /tmp; cat /etc/.sandbox/syslog'),
    ).toBe(
      '192.168.8.1\nconfiguration change not confirmed before a reboot: previous configuration restored\n',
    );
  });
});
