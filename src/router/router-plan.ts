import { createHash } from 'node:crypto';
import { siteCidr } from '../network/address-plan';
import { CONTROLLER_HTTPS_URL, controllerUrlThroughTunnel } from '../network/service-names';
import { desiredRouterState, type SiteRouterInputs } from './desired-state';
import {
  type ApplyInputs,
  CRON_MARK,
  type FileWrite,
  type RouterSnapshot,
  SCANNER_CONF_PATH,
  SCANNER_SCRIPT_PATH,
} from './remote-scripts';
import { planUci, type UciChange, type UciPlan } from './uci-plan';

/** What a router needs installed: every alternative of a group satisfies it. */
export const REQUIRED_PACKAGES: readonly { need: string; anyOf: readonly string[] }[] = [
  { need: 'WireGuard kernel support', anyOf: ['kmod-wireguard'] },
  { need: 'WireGuard tools (netifd proto)', anyOf: ['wireguard-tools'] },
  { need: 'nmap', anyOf: ['nmap', 'nmap-ssl', 'nmap-full'] },
  // uclient-fetch cannot send a header without putting it on its command line: the scanner posts with curl.
  { need: 'curl', anyOf: ['curl'] },
];

export const DEFAULT_SCAN_INTERVAL_MINUTES = 5;

/** Packages to install (the first of each missing group). Pure. */
export function missingPackages(installed: readonly string[]): string[] {
  return REQUIRED_PACKAGES.filter((g) => !g.anyOf.some((p) => installed.includes(p))).map((g) => g.anyOf[0]!);
}

/** The busybox crontab line of the scanner; N minutes in 1..60 (60 = hourly). */
export function cronLine(intervalMinutes: number): string {
  const minutes = intervalMinutes >= 60 ? '0' : intervalMinutes === 1 ? '*' : `*/${intervalMinutes}`;
  return `${minutes} * * * * ${SCANNER_SCRIPT_PATH} ${CRON_MARK}`;
}

/** Where configure-hub installs the deployment CA on the router (world-readable: it is a certificate). */
export const ROUTER_CA_PATH = '/etc/waveshift/ca.pem';

export function renderScannerConf(
  site: number,
  scannerKey: string,
  controllerUrl = controllerUrlThroughTunnel,
  ca?: { fingerprint: string },
): string {
  if (!/^[A-Za-z0-9_-]{16,}$/.test(scannerKey)) {
    throw new RangeError(`the scanner key of site ${site} is not a base64url string`);
  }
  return [
    `# Waveshift device scanner of site ${site}; written by wavectl configure-hub.`,
    "# Root only (0600): it holds the site's scanner key.",
    `SITE=${site}`,
    `LAN_CIDR=${siteCidr(site)}`,
    `CONTROLLER_URL=${controllerUrl}`,
    `API_KEY=${scannerKey}`,
    // The fingerprint makes a new CA change this file, so the plan rewrites the CA file with it.
    ...(ca ? [`# deployment CA ${ca.fingerprint}`, `CA_FILE=${ROUTER_CA_PATH}`] : []),
    '',
  ].join('\n');
}

export interface RouterPlanInputs extends SiteRouterInputs {
  scannerScript: string;
  scannerKey: string;
  scanIntervalMinutes: number;
  /** The deployment CA (PEM) and its fingerprint: the scanner then reports over HTTPS, verified with it. */
  ca?: { certificate: string; fingerprint: string };
}

export interface RouterPlan {
  uci: UciPlan;
  files: FileWrite[];
  cronLine?: string;
  enableCron: boolean;
  /** Serialisable list of what differs (secrets redacted). */
  changes: UciChange[];
  changed: boolean;
  /**
   * True when the LAN interface itself changes (its address moves): the firmware's own services (GL.iNet's
   * web UI and daemons, DHCP leases on the old subnet) only follow after a reboot. A change of the tunnel,
   * the firewall or DNS only needs the reloads the apply job does.
   */
  rebootNeeded: boolean;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Pure: the scanner's configuration a site's router should hold (over HTTPS once there is a deployment CA). */
export const scannerConfFor = (inputs: RouterPlanInputs): string =>
  inputs.ca
    ? renderScannerConf(inputs.tunnel.site, inputs.scannerKey, CONTROLLER_HTTPS_URL, inputs.ca)
    : renderScannerConf(inputs.tunnel.site, inputs.scannerKey);

/** Pure: what must change on the router, from its snapshot and the site's desired state. */
export function planRouter(snapshot: RouterSnapshot, inputs: RouterPlanInputs): RouterPlan {
  const uci = planUci(snapshot.uci, desiredRouterState(inputs));
  const changes = [...uci.changes];
  const files: FileWrite[] = [];
  if (snapshot.scriptHash !== sha256(inputs.scannerScript)) {
    files.push({ path: SCANNER_SCRIPT_PATH, mode: '0755', content: inputs.scannerScript });
    changes.push({
      action: snapshot.scriptHash ? 'update' : 'create',
      resource: `file:${SCANNER_SCRIPT_PATH}`,
    });
  }
  const conf = scannerConfFor(inputs);
  if (snapshot.confHash !== sha256(conf) || snapshot.confMode !== '-rw-------') {
    files.push({
      path: SCANNER_CONF_PATH,
      mode: '0600',
      content: conf,
      redacted: conf.replace(/^API_KEY=.*$/m, 'API_KEY=<redacted: scanner key from SSM>'),
    });
    changes.push({ action: snapshot.confHash ? 'update' : 'create', resource: `file:${SCANNER_CONF_PATH}` });
    if (inputs.ca) {
      files.push({ path: ROUTER_CA_PATH, mode: '0644', content: inputs.ca.certificate });
      changes.push({ action: 'update', resource: `file:${ROUTER_CA_PATH}` });
    }
  }
  const line = cronLine(inputs.scanIntervalMinutes);
  const writeCron = snapshot.cronLine !== line;
  if (writeCron)
    changes.push({
      action: snapshot.cronLine ? 'update' : 'create',
      resource: 'crontab:root',
      before: snapshot.cronLine,
      after: line,
    });
  if (!snapshot.cronEnabled)
    changes.push({ action: 'update', resource: 'service:cron', before: 'disabled', after: 'enabled' });
  return {
    uci,
    files,
    cronLine: writeCron ? line : undefined,
    enableCron: !snapshot.cronEnabled,
    changes,
    changed: changes.length > 0,
    rebootNeeded: uci.batch.some((line) => / network\.lan[.=]/.test(line)),
  };
}

export function applyInputs(plan: RouterPlan, rollbackSeconds: number): ApplyInputs {
  return {
    batch: plan.uci.batch,
    expected: plan.uci.packages.flatMap((p) => plan.uci.expected[p] ?? []),
    packages: plan.uci.packages,
    files: plan.files,
    cronLine: plan.cronLine,
    enableCron: plan.enableCron,
    rollbackSeconds,
    lanMoves: plan.rebootNeeded,
  };
}

/**
 * The batch lines (display form, secrets redacted) whose changes are missing after a failed batch, from the
 * 1-based numbers of the missing expected changes the apply script printed.
 */
export function failedBatchLines(plan: RouterPlan, missing: readonly number[]): string[] {
  const index = plan.uci.packages.flatMap((p) => plan.uci.expectedLine[p] ?? []);
  const lines = missing.map((n) => index[n - 1]).filter((i): i is number => i !== undefined);
  return [...new Set(lines)].sort((a, b) => a - b).map((i) => plan.uci.displayBatch[i]!);
}

/** The LAN address the router has after the plan (its gateway), or undefined when it does not move. */
export function movedLanAddress(snapshot: RouterSnapshot, gateway: string): string | undefined {
  const lan = snapshot.uci.find((p) => p.name === 'network')?.sections.find((s) => s.name === 'lan');
  return lan?.options.ipaddr === gateway ? undefined : gateway;
}
