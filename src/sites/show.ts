import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { parameterNames } from '../aws/naming';
import { call } from '../aws/retry';
import type { SiteRecord, WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { connectController } from '../controller-client/connect';
import { UsageError, WavectlError } from '../errors';
import { renderTable } from '../io/output';
import { siteCidr, siteDhcpRange, siteGateway } from '../network/address-plan';
import { controllerUrlOnVpn } from '../network/service-names';
import { planSiteTunnel, type SiteTunnelPlan } from '../network/site-tunnel';
import { renderSiteWgQuick } from '../wireguard/render';

export interface SiteSummary {
  number: number;
  name: string;
  lan: string;
  gateway: string;
  accessServer: number;
  endpoint: string | null;
  publicKey: string;
  status: 'registered' | 'unregistered';
}

function summary(config: WavectlConfig, s: SiteRecord): SiteSummary {
  const server = config.accessServers.find((a) => a.index === s.accessServer);
  return {
    number: s.number,
    name: s.name,
    lan: siteCidr(s.number),
    gateway: siteGateway(s.number),
    accessServer: s.accessServer,
    endpoint: server?.publicIp ? `${server.publicIp}:${server.listenPort}` : null,
    publicKey: s.publicKey,
    status: s.registered ? 'registered' : 'unregistered',
  };
}

export interface SiteList {
  sites: SiteSummary[];
  /** The command that finishes the unregistered sites (left half-made by an interrupted run), if any. */
  finish?: string;
}

export async function listSites(ctx: Context): Promise<SiteList> {
  const config = await ctx.loadConfig();
  const sites = config.sites.map((s) => summary(config, s));
  const pending = sites.filter((s) => s.status === 'unregistered').length;
  return pending > 0 ? { sites, finish: `wavectl sites --add ${pending}` } : { sites };
}

export function renderSiteList({ sites, finish }: SiteList): string {
  if (sites.length === 0) return 'no sites yet: add some with `wavectl sites --add N`';
  const table = renderTable(
    ['SITE', 'NAME', 'LAN', 'ACCESS SERVER', 'ENDPOINT', 'STATUS'],
    sites.map((s) => [String(s.number), s.name, s.lan, String(s.accessServer), s.endpoint ?? '-', s.status]),
  );
  const pending = sites.filter((s) => s.status !== 'registered').length;
  return finish
    ? `${table}\n${pending} site${pending === 1 ? ' is' : 's are'} unregistered (left half-made by an interrupted run): run \`${finish}\` to finish`
    : table;
}

function siteOf(config: WavectlConfig, number: number): SiteRecord {
  const site = config.sites.find((s) => s.number === number);
  if (!site) throw new UsageError(`there is no site ${number}; see \`wavectl sites --list\``);
  return site;
}

/** What the controller knows of the site; `unknown` when it could not be asked. */
export type ControllerView =
  | { state: 'known'; lastReportAt: string | null; deviceCount: number; onlineCount: number }
  | { state: 'not registered' }
  | { state: 'unknown'; reason: string };

export interface SiteDetail extends SiteSummary {
  controller: ControllerView;
  dhcp: { first: string; last: string };
  tunnel: SiteTunnelPlan;
  controllerUrl: string;
  secrets: { privateKey: string; scannerKey: string };
}

/** Everything a technician needs on site. Secrets appear as their SSM names, never their values. */
export async function showSite(ctx: Context, number: number): Promise<SiteDetail> {
  const config = await ctx.loadConfig();
  const site = siteOf(config, number);
  const names = parameterNames(config.name);
  const range = siteDhcpRange(number);
  let controller: ControllerView;
  try {
    const known = await (await connectController(ctx)).getSite(number);
    controller = known
      ? {
          state: 'known',
          lastReportAt: known.lastReportAt,
          deviceCount: known.deviceCount,
          onlineCount: known.onlineCount,
        }
      : { state: 'not registered' };
  } catch (error) {
    // The site's facts are still worth printing when the controller cannot be reached or refuses.
    if (!(error instanceof WavectlError)) throw error;
    controller = { state: 'unknown', reason: error.message };
  }
  return {
    ...summary(config, site),
    controller,
    dhcp: { first: range.first, last: range.last },
    tunnel: planSiteTunnel(config.sites, config.accessServers, number),
    controllerUrl: controllerUrlOnVpn(config),
    secrets: { privateKey: names.sitePrivateKey(number), scannerKey: names.siteScannerKey(number) },
  };
}

export function renderSiteDetail(d: SiteDetail): string {
  return [
    `site ${d.number} (${d.name}): ${d.status}`,
    `  controller        ${controllerText(d.controller)}`,
    `  LAN               ${d.lan}, gateway ${d.gateway}, DHCP ${d.dhcp.first}-${d.dhcp.last}`,
    `  WireGuard         address ${d.tunnel.interfaceAddress}, public key ${d.publicKey}`,
    `  access server     ${d.accessServer}, endpoint ${d.endpoint ?? '(not yet known)'}, public key ${d.tunnel.peer.publicKey}`,
    `  through tunnel    ${d.tunnel.peer.allowedIps.join(', ')}; DNS for *.internal ${d.tunnel.dnsServer}`,
    `  controller URL    ${d.controllerUrl}`,
    `  secrets (SSM)     ${d.secrets.privateKey}, ${d.secrets.scannerKey}`,
    `  configure         wavectl configure-hub --site ${d.number}   (or by hand: wavectl sites --export-config ${d.number})`,
  ].join('\n');
}

function controllerText(view: ControllerView): string {
  if (view.state === 'unknown') return `unknown (${view.reason})`;
  if (view.state === 'not registered')
    return 'does not know this site: run `wavectl sites --add` again to finish';
  const last = view.lastReportAt ? `last scan report ${view.lastReportAt}` : 'no scan report yet';
  return `${last}; ${view.onlineCount} of ${view.deviceCount} devices online`;
}

/** The site's wg-quick text; the private key is read from SSM only when asked for. */
export async function exportSiteConfig(
  ctx: Context,
  number: number,
  includePrivateKey: boolean,
  mtu?: number,
): Promise<{ site: number; privateKeyIncluded: boolean; config: string }> {
  const config = await ctx.loadConfig();
  siteOf(config, number);
  const plan = planSiteTunnel(config.sites, config.accessServers, number);
  let privateKey: string | undefined;
  if (includePrivateKey) {
    const ssm = await (await ctx.aws()).ssm();
    const name = parameterNames(config.name).sitePrivateKey(number);
    const out = await call(`SSM GetParameter ${name}`, () =>
      ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })),
    );
    privateKey = out.Parameter?.Value;
  }
  return {
    site: number,
    privateKeyIncluded: privateKey !== undefined,
    config: renderSiteWgQuick(plan, privateKey, mtu),
  };
}
