import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithNetns } from './helpers/netns';
import { type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

/**
 * The sandbox's `uci` must behave as OpenWrt's does for the commands wavectl and the tests rely on, or the
 * router tests prove nothing: staged changes until commit, revert, anonymous sections, lists, batch quoting.
 */
describeWithNetns('the sandboxed router follows OpenWrt uci semantics', () => {
  let router: RouterSandbox;
  beforeAll(async () => {
    router = await startRouterSandbox({ password: 'x' });
  });
  afterAll(() => router?.stop());

  it('stages changes until commit, shows them to get, and forgets them on revert', async () => {
    await router.sh("uci set network.lan.ipaddr='10.8.1.1'");
    expect(await router.sh('uci get network.lan.ipaddr; uci changes network')).toBe(
      "10.8.1.1\nnetwork.lan.ipaddr='10.8.1.1'\n",
    );
    expect(await router.sh('grep ipaddr /etc/config/network | tail -1')).toContain('192.168.8.1');
    await router.sh('uci revert network');
    expect(await router.sh('uci get network.lan.ipaddr; uci changes network')).toBe('192.168.8.1\n');
  });

  it('addresses anonymous sections as @type[i] and by their cfg id, and adds new ones', async () => {
    expect(await router.sh('uci get firewall.@zone[1].name; uci get firewall.@zone[-1].name')).toBe(
      'wan\nwan\n',
    );
    const id = (await router.sh('uci add firewall rule')).trim();
    expect(id).toMatch(/^cfg[0-9a-f]{6}$/);
    await router.sh(`uci set firewall.${id}.name='Allow-WireGuard'; uci commit firewall`);
    expect(await router.sh('uci get firewall.@rule[-1].name; uci show firewall.@rule[-1].name')).toBe(
      "Allow-WireGuard\nfirewall.@rule[1].name='Allow-WireGuard'\n",
    );
    expect(await router.sh('tail -3 /etc/config/firewall')).toBe(
      "config rule\n\toption name 'Allow-WireGuard'\n\n",
    );
  });

  it('keeps lists, del_list, delete, rename and reorder as uci does', async () => {
    await router.sh(
      "uci add_list dhcp.@dnsmasq[0].server='/a/1.1.1.1'; uci del_list dhcp.@dnsmasq[0].server='/corp.example/192.168.8.53'; uci rename dhcp.wan=wan_off; uci delete dhcp.lan.dhcpv6; uci reorder dhcp.lan=0; uci commit dhcp",
    );
    expect(
      await router.sh(
        'uci get dhcp.@dnsmasq[0].server; uci -q get dhcp.lan.dhcpv6 || echo none; uci get dhcp.wan_off.ignore',
      ),
    ).toBe('/a/1.1.1.1\nnone\n1\n');
    expect((await router.sh('head -1 /etc/config/dhcp')).trim()).toBe("config dhcp 'lan'");
  });

  it('reads batch commands with uci quoting and reports a bad line', async () => {
    const out = await router.sh(`uci batch <<'END'
set system.@system[0].notes='it'\\''s; $(reboot) #1'
set nosuch.x.y='1'
set system.@system[0].zone="a\\"b"
END
echo rc=$?; uci get system.@system[0].notes; uci get system.@system[0].zone; uci revert system`);
    expect(out).toBe('rc=1\nit\'s; $(reboot) #1\na"b\n');
    expect(await router.calls()).toEqual([]);
  });
});
