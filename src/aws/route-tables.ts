import {
  AssociateRouteTableCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  DescribeRouteTablesCommand,
  type EC2Client,
  ReplaceRouteCommand,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call } from './retry';

export const ROUTE_TABLES = {
  public: COMPONENT.publicRouteTable,
  private: COMPONENT.privateRouteTable,
} as const;

export type DefaultTarget = { kind: 'gateway'; id: string } | { kind: 'nat'; id: string };

export async function findRouteTable(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof ROUTE_TABLES,
): Promise<RouteTable | undefined> {
  const out = await call('EC2 DescribeRouteTables', () =>
    ec2.send(new DescribeRouteTablesCommand({ Filters: tagFilters(deployment, ROUTE_TABLES[which]) })),
  );
  return out.RouteTables?.[0];
}

/** Pure: what the default route must change, given the table's current routes. */
export function defaultRouteChange(
  table: Pick<RouteTable, 'Routes'>,
  target: DefaultTarget,
): 'keep' | 'create' | 'replace' {
  const route = table.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
  if (!route) return 'create';
  const current = target.kind === 'gateway' ? route.GatewayId : route.NatGatewayId;
  return current === target.id && route.State !== 'blackhole' ? 'keep' : 'replace';
}

/**
 * A route table with a default route to `target`, associated with `subnetId`. Other routes (access servers'
 * routes to the sites) are left alone: they belong to another part.
 */
export async function ensureRouteTable(
  ec2: EC2Client,
  deployment: string,
  which: keyof typeof ROUTE_TABLES,
  vpcId: string,
  subnetId: string,
  target: DefaultTarget,
): Promise<Ensured> {
  let table = await findRouteTable(ec2, deployment, which);
  const created = !table;
  if (!table) {
    const out = await call('EC2 CreateRouteTable', () =>
      ec2.send(
        new CreateRouteTableCommand({
          VpcId: vpcId,
          TagSpecifications: [
            { ResourceType: 'route-table', Tags: resourceTags(deployment, ROUTE_TABLES[which]) },
          ],
        }),
      ),
    );
    table = out.RouteTable ?? {};
  }
  const tableId = table.RouteTableId ?? '';
  const changes: string[] = [];
  const route = defaultRouteChange(table, target);
  if (route !== 'keep') {
    const input = {
      RouteTableId: tableId,
      DestinationCidrBlock: '0.0.0.0/0',
      ...(target.kind === 'gateway' ? { GatewayId: target.id } : { NatGatewayId: target.id }),
    };
    await call(`EC2 ${route === 'create' ? 'CreateRoute' : 'ReplaceRoute'}`, () =>
      ec2.send(route === 'create' ? new CreateRouteCommand(input) : new ReplaceRouteCommand(input)),
    );
    changes.push(`default route → ${target.id}`);
  }
  if (!(table.Associations ?? []).some((a) => a.SubnetId === subnetId)) {
    await call('EC2 AssociateRouteTable', () =>
      ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnetId })),
    );
    changes.push(`associated with ${subnetId}`);
  }
  if (created) return { status: 'created', id: tableId };
  return changes.length > 0
    ? { status: 'changed', id: tableId, detail: changes.join(', ') }
    : { status: 'unchanged', id: tableId };
}
