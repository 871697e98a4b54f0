import { CORE_RESOURCES, type ComponentRef, isExpectedComponent } from '../aws/components';
import { INSTANCE_HOURLY_USD } from '../aws/instance-types';
import type { WavectlConfig } from '../config/schema';
import type { FoundResource } from './census';

/** One change of a plan, serialisable (printed by --dry-run, compared in tests). */
export interface Change {
  action: 'create' | 'update' | 'keep';
  resource: ComponentRef;
  id?: string;
  before?: string;
  after?: string;
}

const same = (r: ComponentRef, f: FoundResource) => r.kind === f.kind && r.component === f.component;

/** Pure: what `deploy` would do given what exists. Instance size differences are in-place updates. */
export function planDeploy(found: readonly FoundResource[], config: WavectlConfig): Change[] {
  const wanted: Record<string, string> = {
    controller: config.instances.controller.type,
    kasm: config.instances.kasm.type,
  };
  return CORE_RESOURCES.map((resource) => {
    const match = found.find((f) => same(resource, f));
    if (!match) {
      const after = resource.kind === 'instance' ? wanted[resource.component] : undefined;
      return { action: 'create', resource, ...(after ? { after } : {}) };
    }
    if (resource.kind === 'instance') {
      const before = match.facts?.instanceType ?? '';
      const after = wanted[resource.component] ?? before;
      if (before !== after) return { action: 'update', resource, id: match.id, before, after };
    }
    return { action: 'keep', resource, id: match.id };
  });
}

export interface Drift {
  missing: ComponentRef[];
  extra: FoundResource[];
  duplicates: FoundResource[];
}

/** Pure: expected resources that are missing, tagged resources nobody expects, and second copies. */
export function detectDrift(found: readonly FoundResource[]): Drift {
  const missing = CORE_RESOURCES.filter((r) => !found.some((f) => same(r, f)));
  const extra = found.filter((f) => !isExpectedComponent(f.kind, f.component));
  const seen = new Set<string>();
  const duplicates: FoundResource[] = [];
  for (const f of found) {
    const key = `${f.kind}/${f.component}`;
    if (seen.has(key)) duplicates.push(f);
    seen.add(key);
  }
  return { missing, extra, duplicates };
}

/** USD per month, on-demand, us-east-1 list prices (a planning figure, not a bill). */
export const PRICES = {
  hoursPerMonth: 730,
  gp3PerGbMonth: 0.08,
  natGatewayHourly: 0.045,
  /** Public IPv4 addresses are billed since February 2024, attached or not. */
  publicIpv4Hourly: 0.005,
} as const;

export interface CostLine {
  item: string;
  monthlyUsd: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Pure: the estimated monthly cost of the deployment the config describes (data transfer excluded). */
export function estimateMonthlyCost(config: WavectlConfig): { lines: CostLine[]; totalUsd: number } {
  const h = PRICES.hoursPerMonth;
  const instance = (type: string) => (INSTANCE_HOURLY_USD[type] ?? 0) * h;
  const { controller, kasm, accessServer } = config.instances;
  const servers = config.accessServers.length;
  const lines: CostLine[] = [
    { item: `controller instance ${controller.type}`, monthlyUsd: instance(controller.type) },
    {
      item: `controller volume ${controller.volumeGb} GB gp3`,
      monthlyUsd: controller.volumeGb * PRICES.gp3PerGbMonth,
    },
    { item: `Kasm instance ${kasm.type}`, monthlyUsd: instance(kasm.type) },
    { item: `Kasm volume ${kasm.volumeGb} GB gp3`, monthlyUsd: kasm.volumeGb * PRICES.gp3PerGbMonth },
    { item: 'NAT gateway (hours, without data processed)', monthlyUsd: PRICES.natGatewayHourly * h },
    { item: 'Elastic IP of the NAT gateway', monthlyUsd: PRICES.publicIpv4Hourly * h },
  ];
  if (servers > 0) {
    lines.push(
      {
        item: `${servers} access server(s) ${accessServer.type}`,
        monthlyUsd: servers * instance(accessServer.type),
      },
      // Access servers use 8 GB root volumes and one Elastic IP each.
      { item: `${servers} access server volume(s) 8 GB gp3`, monthlyUsd: servers * 8 * PRICES.gp3PerGbMonth },
      { item: `${servers} access server Elastic IP(s)`, monthlyUsd: servers * PRICES.publicIpv4Hourly * h },
    );
  }
  const rounded = lines.map((l) => ({ ...l, monthlyUsd: round(l.monthlyUsd) }));
  return { lines: rounded, totalUsd: round(rounded.reduce((sum, l) => sum + l.monthlyUsd, 0)) };
}
