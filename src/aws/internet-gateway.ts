import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DeleteInternetGatewayCommand,
  DetachInternetGatewayCommand,
  type EC2Client,
  paginateDescribeInternetGateways,
} from '@aws-sdk/client-ec2';
import type { Change, Fields } from './change';
import { COMPONENT } from './components';
import type { FoundResource } from './found';
import { componentOfTags, ownedBy, resourceTags, tagFilters } from './naming';
import { retryNotFound } from './not-found';
import { type InUseRetry, ignoreMissing } from './removal';
import { call, collect } from './retry';

export const desiredInternetGateway = (vpcId: string): Fields => ({ attachedTo: [vpcId] });

export async function readInternetGateways(ec2: EC2Client, deployment: string): Promise<FoundResource[]> {
  const pages = await collect(
    'EC2 DescribeInternetGateways',
    paginateDescribeInternetGateways({ client: ec2 }, { Filters: tagFilters(deployment) }),
  );
  return pages
    .flatMap((p) => p.InternetGateways ?? [])
    .filter((g) => ownedBy(g.Tags, deployment))
    .map((g) => {
      const attachedTo = (g.Attachments ?? []).map((a) => a.VpcId ?? '').filter(Boolean);
      return {
        kind: 'internet-gateway' as const,
        component: componentOfTags(g.Tags),
        id: g.InternetGatewayId ?? '',
        state: attachedTo.length > 0 ? 'attached' : 'detached',
        fields: { attachedTo },
        facts: { vpcIds: attachedTo.join(',') },
      };
    });
}

/** Creates the gateway and attaches it to the VPC (a run killed between the two attaches it now). */
export async function applyInternetGateway(
  ec2: EC2Client,
  deployment: string,
  change: Change,
  vpcId: string,
): Promise<string> {
  let id = change.id ?? '';
  if (change.action === 'create') {
    const out = await call('EC2 CreateInternetGateway', () =>
      ec2.send(
        new CreateInternetGatewayCommand({
          TagSpecifications: [
            { ResourceType: 'internet-gateway', Tags: resourceTags(deployment, COMPONENT.internetGateway) },
          ],
        }),
      ),
    );
    id = out.InternetGateway?.InternetGatewayId ?? '';
  }
  if (change.action === 'create' || change.action === 'update') {
    await retryNotFound('EC2 AttachInternetGateway', () =>
      ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpcId })),
    );
  }
  return id;
}

export async function removeInternetGateway(ec2: EC2Client, igw: FoundResource, whileInUse: InUseRetry) {
  for (const vpcId of (igw.facts?.vpcIds ?? '').split(',').filter(Boolean)) {
    await whileInUse('EC2 DetachInternetGateway', () =>
      ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw.id, VpcId: vpcId })),
    );
  }
  await ignoreMissing('EC2 DeleteInternetGateway', () =>
    ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: igw.id })),
  );
}
