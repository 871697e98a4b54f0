import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DeleteRouteTableCommand,
  DisassociateRouteTableCommand,
  type EC2Client,
  paginateDescribeRouteTables,
  ReplaceRouteCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import { retryNotFound } from './not-found';
import { type InUseRetry, ignoreMissing } from './removal';
import { call, collect } from './retry';

export const ROUTE_TABLES = {
  public: COMPONENT.publicRouteTable,
  private: COMPONENT.privateRouteTable,
} as const;

export type DefaultTarget = { kind: 'gateway'; id: string } | { kind: 'nat'; id: string };

/**
 * Pure: the fields wavectl owns in a route table: its VPC, its default route and its subnet. Other routes
 * (access servers' routes to the sites) belong to another part and are not compared here.
 */
export const desiredRouteTable = (vpcId: string, subnetId: string, target: DefaultTarget): Fields => ({
  vpc: vpcId,
  defaultRoute: target.id,
  subnets: [subnetId],
});

/** Pure: the default route's target as a field; a blackhole route points nowhere. */
export function defaultRouteOf(table: Pick<RouteTable, 'Routes'>): string {
  const route = table.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
  if (!route) return '';
  if (route.State === 'blackhole') return 'blackhole';
  return route.NatGatewayId ?? route.GatewayId ?? route.NetworkInterfaceId ?? route.InstanceId ?? '';
}

export async function readRouteTables(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeRouteTables',
    paginateDescribeRouteTables({ client: ec2 }, { Filters: tagFilters(deployment) }),
  );
  return pages
    .flatMap((p) => p.RouteTables ?? [])
    .filter((t) => ownedBy(t.Tags, deployment))
    .map((t) => {
      const associations = (t.Associations ?? []).filter((a) => !a.Main && a.RouteTableAssociationId);
      return {
        kind: 'route-table' as const,
        component: componentOfTags(t.Tags),
        id: t.RouteTableId ?? '',
        fields: {
          vpc: t.VpcId ?? '',
          defaultRoute: defaultRouteOf(t),
          subnets: associations.map((a) => a.SubnetId ?? '').filter(Boolean),
        },
        facts: {
          associations: associations.map((a) => a.RouteTableAssociationId).join(','),
          hasDefaultRoute: t.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0') ? 'yes' : 'no',
        },
      };
    });
}

/** Creates the table, or sets its default route and association where they differ. */
export async function applyRouteTable(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof ROUTE_TABLES,
  change: Change,
  current: FoundResource | undefined,
  target: { vpcId: string; subnetId: string; route: DefaultTarget },
): Promise<string> {
  let tableId = change.id ?? '';
  if (change.action === 'create') {
    const out = await call('EC2 CreateRouteTable', () =>
      ec2.send(
        new CreateRouteTableCommand({
          VpcId: target.vpcId,
          TagSpecifications: [
            { ResourceType: 'route-table', Tags: resourceTags(deployment, ROUTE_TABLES[which]) },
          ],
        }),
      ),
    );
    tableId = out.RouteTable?.RouteTableId ?? '';
  }
  if (change.action === 'create' || change.after?.defaultRoute !== undefined) {
    const input = {
      RouteTableId: tableId,
      DestinationCidrBlock: '0.0.0.0/0',
      ...(target.route.kind === 'gateway'
        ? { GatewayId: target.route.id }
        : { NatGatewayId: target.route.id }),
    };
    const replace = current?.facts?.hasDefaultRoute === 'yes';
    await retryNotFound(`EC2 ${replace ? 'ReplaceRoute' : 'CreateRoute'}`, () =>
      ec2.send(replace ? new ReplaceRouteCommand(input) : new CreateRouteCommand(input)),
    );
  }
  if (change.action === 'create' || change.after?.subnets !== undefined) {
    await retryNotFound('EC2 AssociateRouteTable', () =>
      ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: target.subnetId })),
    );
  }
  return tableId;
}

export async function removeRouteTable(ec2: EC2Client, table: FoundResource, whileInUse: InUseRetry) {
  for (const association of (table.facts?.associations ?? '').split(',').filter(Boolean)) {
    await ignoreMissing('EC2 DisassociateRouteTable', () =>
      ec2.send(new DisassociateRouteTableCommand({ AssociationId: association })),
    );
  }
  await whileInUse('EC2 DeleteRouteTable', () =>
    ec2.send(new DeleteRouteTableCommand({ RouteTableId: table.id })),
  );
}
