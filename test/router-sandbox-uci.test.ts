import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithNetns } from './helpers/netns';
import { type RouterSandbox, startRouterSandbox } from './helpers/router-sandbox';

/**
 * The sandbox's `uci` must behave as OpenWrt's does (cli.c and libuci) for the commands wavectl and the
 * tests rely on, or the router tests prove nothing. One test per fact; each leaves nothing staged.
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

  it('batch reports a failing line on stderr, carries on with the next, and exits 0', async () => {
    const out = await router.sh(`uci batch 2>/tmp/err <<'END'
set system.@system[0].notes='it'\\''s; $(reboot) #1'
set nosuch.x.y='1'
set system.nosuch.y='1'
set system.@system[0].zone="a\\"b"
END
echo rc=$?; cat /tmp/err; uci get system.@system[0].notes; uci get system.@system[0].zone; uci revert system`);
    expect(out).toBe('rc=0\nuci: Entry not found\nuci: Invalid argument\nit\'s; $(reboot) #1\na"b\n');
    expect(await router.calls()).toEqual([]);
  });

  it('an unterminated quote in a batch swallows the following lines into the value', async () => {
    const out = await router.sh(`uci batch <<'END'
set system.@system[0].notes='left open
set system.@system[0].hostname=evil'
set system.@system[0].timezone='CET'
END
echo rc=$?; uci get system.@system[0].hostname; uci get system.@system[0].timezone; uci get system.@system[0].notes; uci revert system`);
    expect(out).toBe('rc=0\nGL-MT3000\nCET\nleft open\nset system.@system[0].hostname=evil\n');
  });

  it('show names anonymous sections @type[i] in a package, and by their generated id one at a time', async () => {
    const id = (await router.sh('uci add firewall rule')).trim();
    expect(id).toMatch(/^cfg[0-9a-f]{6}$/);
    await router.sh(`uci set firewall.${id}.name='Allow-WireGuard'; uci commit firewall`);
    expect(await router.sh('uci show firewall | grep Allow-WireGuard')).toBe(
      "firewall.@rule[1].name='Allow-WireGuard'\n",
    );
    // The id hashes the section's content, as libuci's does: it changed with the name option.
    const shown = await router.sh('uci show firewall.@rule[-1]');
    const now = shown.match(/^firewall\.(cfg[0-9a-f]{6})=rule$/m)?.[1];
    expect(shown).toBe(`firewall.${now}=rule\nfirewall.${now}.name='Allow-WireGuard'\n`);
    expect(await router.sh(`uci get firewall.${now}.name`)).toBe('Allow-WireGuard\n');
    expect(await router.sh('uci get firewall.@rule[-1].name')).toBe('Allow-WireGuard\n');
    await router.sh('uci delete firewall.@rule[-1]; uci commit firewall');
  });

  it('get of a list quotes the entries that contain spaces; show quotes every value', async () => {
    await router.sh(
      "uci add_list dhcp.@dnsmasq[0].server='a b'; uci add_list dhcp.@dnsmasq[0].server='/x/1.2.3.4'",
    );
    expect(
      await router.sh('uci get dhcp.@dnsmasq[0].server; uci show dhcp.@dnsmasq[0].server | cut -d= -f2-'),
    ).toBe("/corp.example/192.168.8.53 'a b' /x/1.2.3.4\n'/corp.example/192.168.8.53' 'a b' '/x/1.2.3.4'\n");
    await router.sh('uci revert dhcp');
  });

  it('commit writes a blank line first and before each config, as libuci does', async () => {
    await router.sh("uci set system.@system[0].hostname='site-1'; uci commit system");
    expect(await router.sh('cat /etc/config/system')).toBe(
      "\nconfig system\n\toption hostname 'site-1'\n\toption timezone 'UTC'\n\n",
    );
    expect(await router.sh('uci export system')).toBe(
      "package system\n\nconfig system\n\toption hostname 'site-1'\n\toption timezone 'UTC'\n\n",
    );
  });

  it('takes section types with any printable character and package names with a dash', async () => {
    await router.sh(
      "printf \"config wifi-device 'radio0'\\n\\toption type 'mac80211'\\n\" > /etc/config/wireless-extra",
    );
    expect(await router.sh('uci get wireless-extra.radio0; uci show wireless-extra')).toBe(
      "wifi-device\nwireless-extra.radio0=wifi-device\nwireless-extra.radio0.type='mac80211'\n",
    );
    await router.sh("uci add wireless-extra 'wifi-iface' >/dev/null; uci commit wireless-extra");
    expect(await router.sh('uci get wireless-extra.@wifi-iface[0]')).toBe('wifi-iface\n');
    expect(router.sh("uci set wireless-extra.radio0.bad-name='1'")).rejects.toThrow(/Invalid argument/);
    await router.sh('rm /etc/config/wireless-extra');
  });

  it('changes prints set, +=, -= and -deletes, naming sections by id', async () => {
    const out = await router.sh(`uci batch <<'END'
del_list network.@device[0].ports='lan1'
add_list dhcp.@dnsmasq[0].server='/internal/10.9.0.2'
delete network.wan
set network.lan.ipaddr='10.8.1.1'
set network.lan.proto='static'
del_list network.lan.ipaddr='10.8.1.1'
END
uci changes; uci revert network; uci revert dhcp`);
    const dnsmasq = out.match(/^dhcp\.(cfg[0-9a-f]{6})\.server/m)?.[1];
    const device = out.match(/^network\.(cfg[0-9a-f]{6})\.ports/m)?.[1];
    expect(out).toBe(
      [
        `dhcp.${dnsmasq}.server+='/internal/10.9.0.2'`,
        `network.${device}.ports-='lan1'`,
        '-network.wan',
        "network.lan.ipaddr='10.8.1.1'",
        '',
      ].join('\n'),
    );
  });

  it('-P stages into its own directory and never commits', async () => {
    expect(
      await router.sh(
        "uci -P /tmp/other set network.lan.ipaddr='10.8.2.1'; uci -P /tmp/other commit network; uci -P /tmp/other changes network; uci get network.lan.ipaddr; uci changes network",
      ),
    ).toBe("network.lan.ipaddr='10.8.2.1'\n192.168.8.1\n");
    await router.sh('rm -rf /tmp/other');
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
    expect((await router.sh('sed -n 2p /etc/config/dhcp')).trim()).toBe("config dhcp 'lan'");
  });

  it('a file that does not parse fails every read with the parse error', async () => {
    await router.sh(
      `cp /etc/config/firewall /tmp/fw; printf "config zone\\n\\toption name 'broken\\n" >> /etc/config/firewall`,
    );
    await expect(router.sh('uci export firewall')).rejects.toThrow(/uci: Parse error \(unterminated '\)/);
    await router.sh('mv /tmp/fw /etc/config/firewall');
  });
});
