import { createHash } from 'node:crypto';
import { printable } from '../io/printable';
import { desiredRouterState, FIREWALL_ZONE, WG_INTERFACE, WG_PEER_SECTION } from './desired-state';
import { type RouterSnapshot, SCANNER_CONF_PATH, SCANNER_SCRIPT_PATH } from './remote-scripts';
import {
  cronLine,
  missingPackages,
  type RouterPlan,
  type RouterPlanInputs,
  scannerConfFor,
} from './router-plan';
import { sectionRef, type UciValue } from './uci';
import type { UciChange } from './uci-plan';

/**
 * configure-hub --check: how a router differs from what configure-hub would write, item by item in uci
 * terms. Pure: it reads a snapshot (one SSH round trip) and the plan configure-hub would apply.
 */
export interface DriftItem {
  /** `network.lan.ipaddr`, a section `network.waveshift_server`, `file:…`, `crontab:root`, `package:nmap`. */
  resource: string;
  /** What configure-hub writes; null: it wants it absent. */
  expected: string | null;
  /** What the router has; null: absent. */
  found: string | null;
  /** Where the difference comes from, for the operator. */
  note: string;
  /** configure-hub (without --check) puts it back; false: it leaves it, and it is for a person to judge. */
  repaired: boolean;
}

export interface TunnelState {
  state: 'up' | 'stale' | 'never';
  /** Seconds since the latest handshake; null when there was none. */
  handshakeAgeSeconds: number | null;
}

const SHORT_HASH = 12;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const hashShown = (hash: string | undefined) => (hash ? `sha256:${hash.slice(0, SHORT_HASH)}` : null);

/** A uci value as `uci show` would print it, control characters made visible. */
export function showUciValue(value: UciValue | undefined): string | null {
  if (value === undefined) return null;
  const one = (v: string) => (/^[A-Za-z0-9_.:/@<>-]+$/.test(v) ? v : `'${printable(v, 80)}'`);
  return Array.isArray(value) ? value.map(one).join(' ') : one(value);
}

const isSection = (resource: string) => resource.split('.').length === 2;

function uciDrift(changes: readonly UciChange[]): DriftItem[] {
  const items: DriftItem[] = [];
  const created = new Map(
    changes.filter((c) => c.action === 'create' && isSection(c.resource)).map((c) => [c.resource, c]),
  );
  const retyped = new Set(
    changes.filter((c) => c.action === 'delete' && isSection(c.resource)).map((c) => c.resource),
  );
  for (const c of changes) {
    const section = c.resource.split('.').slice(0, 2).join('.');
    if (isSection(c.resource)) {
      if (c.action === 'delete') {
        items.push({
          resource: c.resource,
          expected: `${created.get(c.resource)?.after} section`,
          found: `${c.before} section`,
          note: 'its type was changed on the router',
          repaired: true,
        });
      } else if (!retyped.has(c.resource)) {
        items.push({
          resource: c.resource,
          expected: `${c.after} section`,
          found: null,
          note: 'removed on the router',
          repaired: true,
        });
      }
      continue;
    }
    // The options of a missing section are the section's own line.
    if (created.has(section)) continue;
    if (c.action === 'update') {
      items.push({
        resource: c.resource,
        expected: showUciValue(c.after),
        found: showUciValue(c.before),
        note: 'edited on the router',
        repaired: true,
      });
    } else if (c.action === 'create') {
      items.push({
        resource: c.resource,
        expected: showUciValue(c.after),
        found: null,
        note: 'removed on the router',
        repaired: true,
      });
    } else {
      items.push({
        resource: c.resource,
        expected: null,
        found: showUciValue(c.before),
        note: 'added on the router',
        repaired: true,
      });
    }
  }
  return items;
}

/**
 * Sections configure-hub does not own but that act on its tunnel: another peer of the WireGuard interface
 * (who else may connect?), firewall rules or forwardings to or from its zone, another zone covering its
 * interface. configure-hub leaves them alone, so they are reported for a person to judge.
 */
function foreignSections(snapshot: RouterSnapshot, inputs: RouterPlanInputs): DriftItem[] {
  const items: DriftItem[] = [];
  // The firewall sections configure-hub writes, as the desired state names them.
  const ownedFirewall = new Set(
    desiredRouterState(inputs).flatMap((spec) =>
      spec.kind === 'owned' && spec.config === 'firewall' ? [spec.name] : [],
    ),
  );
  const has = (value: UciValue | undefined, wanted: string) =>
    Array.isArray(value)
      ? value.includes(wanted)
      : typeof value === 'string' && value.split(/\s+/).includes(wanted);
  for (const pkg of snapshot.uci) {
    for (const section of pkg.sections) {
      const resource = `${pkg.name}.${sectionRef(section)}`;
      let what: string | undefined;
      if (
        pkg.name === 'network' &&
        section.type === `wireguard_${WG_INTERFACE}` &&
        section.name !== WG_PEER_SECTION
      ) {
        const key = section.options.public_key;
        what = `a second peer of ${WG_INTERFACE}${typeof key === 'string' ? ` (public key ${printable(key, 44)})` : ''}`;
      } else if (pkg.name === 'firewall' && !(section.name && ownedFirewall.has(section.name))) {
        if (['forwarding', 'rule', 'redirect'].includes(section.type)) {
          if (has(section.options.src, FIREWALL_ZONE) || has(section.options.dest, FIREWALL_ZONE))
            what = `a firewall ${section.type} of zone ${FIREWALL_ZONE}`;
        } else if (section.type === 'zone' && has(section.options.network, WG_INTERFACE)) {
          what = `another firewall zone covering ${WG_INTERFACE}`;
        }
      }
      if (what)
        items.push({
          resource,
          expected: null,
          found: `${section.type} section: ${what}`,
          note: 'added on the router; configure-hub leaves it, remove it with uci if it is not wanted',
          repaired: false,
        });
    }
  }
  return items;
}

function scannerDrift(snapshot: RouterSnapshot, plan: RouterPlan, inputs: RouterPlanInputs): DriftItem[] {
  const items: DriftItem[] = [];
  const scriptHash = sha256(inputs.scannerScript);
  if (snapshot.scriptHash !== scriptHash) {
    items.push({
      resource: `file:${SCANNER_SCRIPT_PATH}`,
      expected: hashShown(scriptHash),
      found: hashShown(snapshot.scriptHash),
      note: snapshot.scriptHash ? 'changed on the router' : 'removed on the router',
      repaired: true,
    });
  }
  const confHash = sha256(scannerConfFor(inputs));
  if (snapshot.confHash !== confHash) {
    // Hashes only: the file holds the site's scanner key.
    items.push({
      resource: `file:${SCANNER_CONF_PATH}`,
      expected: hashShown(confHash),
      found: hashShown(snapshot.confHash),
      note: snapshot.confHash ? 'changed on the router' : 'removed on the router',
      repaired: true,
    });
  } else if (snapshot.confMode !== '-rw-------') {
    items.push({
      resource: `file:${SCANNER_CONF_PATH} mode`,
      expected: '-rw-------',
      found: snapshot.confMode ?? null,
      note: 'changed on the router (it holds the scanner key: root only)',
      repaired: true,
    });
  }
  const line = cronLine(inputs.scanIntervalMinutes);
  if (snapshot.cronLine !== line) {
    items.push({
      resource: 'crontab:root',
      expected: printable(line, 120),
      found: snapshot.cronLine === undefined ? null : printable(snapshot.cronLine, 120),
      note: snapshot.cronLine ? 'edited on the router' : 'removed on the router',
      repaired: true,
    });
  }
  if (plan.enableCron) {
    items.push({
      resource: 'service:cron',
      expected: 'enabled',
      found: 'disabled',
      note: 'disabled on the router: the scanner never runs',
      repaired: true,
    });
  }
  for (const name of missingPackages(snapshot.packages)) {
    items.push({
      resource: `package:${name}`,
      expected: 'installed',
      found: null,
      note: 'removed on the router',
      repaired: true,
    });
  }
  return items;
}

/** Every difference, in a stable order: uncommitted edits, uci, foreign sections, scanner, packages. Pure. */
export function routerDrift(
  snapshot: RouterSnapshot,
  plan: RouterPlan,
  inputs: RouterPlanInputs,
): DriftItem[] {
  const pending: DriftItem[] = snapshot.pending.map((line) => ({
    resource: 'uci changes',
    expected: null,
    found: printable(line, 120),
    note: 'staged on the router and not committed (configure-hub refuses to run until they are committed or reverted)',
    repaired: false,
  }));
  return [
    ...pending,
    ...uciDrift(plan.uci.changes),
    ...foreignSections(snapshot, inputs),
    ...scannerDrift(snapshot, plan, inputs),
  ];
}

export function tunnelState(
  snapshot: Pick<RouterSnapshot, 'handshakeAt' | 'now'>,
  freshSeconds: number,
): TunnelState {
  if (!snapshot.handshakeAt) return { state: 'never', handshakeAgeSeconds: null };
  const age = Math.max(0, snapshot.now - snapshot.handshakeAt);
  return { state: age <= freshSeconds ? 'up' : 'stale', handshakeAgeSeconds: age };
}

/** `network.lan.ipaddr: 10.8.3.1 → 192.168.8.1 (edited on the router)`. Pure. */
export function renderDriftItem(item: DriftItem): string {
  return `${item.resource}: ${item.expected ?? '(absent)'} → ${item.found ?? '(absent)'} (${item.note})`;
}
