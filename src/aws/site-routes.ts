import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { AwsError } from '../errors';
import { type AssignedSite, vpcSiteRoutes } from '../network/address-plan';
import { accessServerComponent } from './components';
import { ownedBy, TAG_COMPONENT, tagFilters } from './naming';
import { call } from './retry';

/** A route of the site range in one of the deployment's route tables, targeting an access server's ENI. */
export interface SiteRouteState {
  routeTableId: string;
  cidr: string;
  networkInterfaceId: string | undefined;
}

export type RouteChange =
  | {
      action: 'create' | 'update';
      routeTableId: string;
      cidr: string;
      networkInterfaceId: string;
      before?: string;
    }
  | { action: 'delete'; routeTableId: string; cidr: string; before: string | undefined }
  | { action: 'keep'; routeTableId: string; cidr: string; networkInterfaceId: string };

const inSiteRange = (cidr: string) => cidr.startsWith('10.8.');

/**
 * Pure: the changes that make every route table send exactly the aggregated site routes (vpcSiteRoutes) to
 * the access servers' network interfaces. Routes of the site range that are not wanted any more go.
 */
export function planSiteRoutes(
  routeTableIds: readonly string[],
  current: readonly SiteRouteState[],
  sites: readonly AssignedSite[],
  eniOf: ReadonlyMap<number, string>,
): RouteChange[] {
  const desired = vpcSiteRoutes(sites).map((r) => {
    const eni = eniOf.get(r.accessServer);
    if (!eni)
      throw new AwsError(
        `access server ${r.accessServer} has no network interface: run \`wavectl access-servers --list\``,
        {},
      );
    return { cidr: r.cidr, eni };
  });
  const changes: RouteChange[] = [];
  for (const routeTableId of routeTableIds) {
    const here = current.filter((c) => c.routeTableId === routeTableId && inSiteRange(c.cidr));
    for (const d of desired) {
      const existing = here.find((c) => c.cidr === d.cidr);
      if (!existing)
        changes.push({ action: 'create', routeTableId, cidr: d.cidr, networkInterfaceId: d.eni });
      else if (existing.networkInterfaceId !== d.eni) {
        changes.push({
          action: 'update',
          routeTableId,
          cidr: d.cidr,
          networkInterfaceId: d.eni,
          before: existing.networkInterfaceId,
        });
      } else changes.push({ action: 'keep', routeTableId, cidr: d.cidr, networkInterfaceId: d.eni });
    }
    for (const c of here) {
      if (!desired.some((d) => d.cidr === c.cidr)) {
        changes.push({ action: 'delete', routeTableId, cidr: c.cidr, before: c.networkInterfaceId });
      }
    }
  }
  return changes;
}

/** The deployment's route tables (found by tag) and their site-range routes. */
export async function readSiteRoutes(
  ec2: EC2Client,
  deployment: string,
): Promise<{ routeTableIds: string[]; routes: SiteRouteState[] }> {
  const out = await call('EC2 DescribeRouteTables', () =>
    ec2.send(new DescribeRouteTablesCommand({ Filters: tagFilters(deployment) })),
  );
  const routeTableIds: string[] = [];
  const routes: SiteRouteState[] = [];
  for (const table of (out.RouteTables ?? []).filter((t) => ownedBy(t.Tags, deployment))) {
    if (!table.RouteTableId) continue;
    routeTableIds.push(table.RouteTableId);
    for (const r of table.Routes ?? []) {
      if (r.DestinationCidrBlock && inSiteRange(r.DestinationCidrBlock)) {
        routes.push({
          routeTableId: table.RouteTableId,
          cidr: r.DestinationCidrBlock,
          networkInterfaceId: r.NetworkInterfaceId,
        });
      }
    }
  }
  return { routeTableIds: routeTableIds.sort(), routes };
}

/** The primary network interface of each access server instance, found by its component tag. */
export async function accessServerInterfaces(
  ec2: EC2Client,
  deployment: string,
): Promise<Map<number, string>> {
  const out = await call('EC2 DescribeInstances', () =>
    ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          ...tagFilters(deployment),
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    ),
  );
  const enis = new Map<number, string>();
  for (const r of out.Reservations ?? []) {
    for (const i of (r.Instances ?? []).filter((x) => ownedBy(x.Tags, deployment))) {
      const component = i.Tags?.find((t) => t.Key === TAG_COMPONENT)?.Value ?? '';
      const match = /^access-server-(\d+)$/.exec(component);
      const eni = i.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0)?.NetworkInterfaceId;
      if (match && eni && accessServerComponent(Number(match[1])) === component)
        enis.set(Number(match[1]), eni);
    }
  }
  return enis;
}

export async function applyRouteChanges(ec2: EC2Client, changes: readonly RouteChange[]): Promise<void> {
  for (const c of changes) {
    const target = { RouteTableId: c.routeTableId, DestinationCidrBlock: c.cidr };
    if (c.action === 'create') {
      await call(`EC2 CreateRoute ${c.cidr} in ${c.routeTableId}`, () =>
        ec2.send(new CreateRouteCommand({ ...target, NetworkInterfaceId: c.networkInterfaceId })),
      );
    } else if (c.action === 'update') {
      await call(`EC2 ReplaceRoute ${c.cidr} in ${c.routeTableId}`, () =>
        ec2.send(new ReplaceRouteCommand({ ...target, NetworkInterfaceId: c.networkInterfaceId })),
      );
    } else if (c.action === 'delete') {
      await call(`EC2 DeleteRoute ${c.cidr} in ${c.routeTableId}`, () =>
        ec2.send(new DeleteRouteCommand(target)),
      );
    }
  }
}

/** Read → plan → apply for the site range; returns the changes made (keeps included). */
export async function reconcileSiteRoutes(
  ec2: EC2Client,
  deployment: string,
  sites: readonly AssignedSite[],
): Promise<RouteChange[]> {
  const { routeTableIds, routes } = await readSiteRoutes(ec2, deployment);
  const enis = await accessServerInterfaces(ec2, deployment);
  const changes = planSiteRoutes(routeTableIds, routes, sites, enis);
  await applyRouteChanges(ec2, changes);
  return changes;
}
