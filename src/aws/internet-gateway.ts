import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  DescribeInternetGatewaysCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { COMPONENT } from './components';
import type { Ensured } from './ensured';
import { resourceTags, tagFilters } from './naming';
import { call } from './retry';

export async function findInternetGateway(
  ec2: EC2Client,
  deployment: string,
): Promise<{ id: string; attachedTo: string[] } | undefined> {
  const out = await call('EC2 DescribeInternetGateways', () =>
    ec2.send(
      new DescribeInternetGatewaysCommand({ Filters: tagFilters(deployment, COMPONENT.internetGateway) }),
    ),
  );
  const igw = out.InternetGateways?.[0];
  if (!igw?.InternetGatewayId) return undefined;
  return {
    id: igw.InternetGatewayId,
    attachedTo: (igw.Attachments ?? []).map((a) => a.VpcId ?? '').filter(Boolean),
  };
}

/** The internet gateway, attached to the VPC (a run killed between create and attach attaches it now). */
export async function ensureInternetGateway(
  ec2: EC2Client,
  deployment: string,
  vpcId: string,
): Promise<Ensured> {
  let found = await findInternetGateway(ec2, deployment);
  let created = false;
  if (!found) {
    const out = await call('EC2 CreateInternetGateway', () =>
      ec2.send(
        new CreateInternetGatewayCommand({
          TagSpecifications: [
            { ResourceType: 'internet-gateway', Tags: resourceTags(deployment, COMPONENT.internetGateway) },
          ],
        }),
      ),
    );
    found = { id: out.InternetGateway?.InternetGatewayId ?? '', attachedTo: [] };
    created = true;
  }
  const igwId = found.id;
  if (found.attachedTo.includes(vpcId)) return { status: 'unchanged', id: igwId };
  await call('EC2 AttachInternetGateway', () =>
    ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })),
  );
  return created ? { status: 'created', id: igwId } : { status: 'changed', id: igwId, detail: 'attached' };
}
