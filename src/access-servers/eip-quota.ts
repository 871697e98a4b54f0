import {
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { accessServerEipComponent } from '../aws/components';
import { componentOfTags, ownedBy } from '../aws/naming';
import { call } from '../aws/retry';
import { QuotaError } from '../errors';

/** Service Quotas' code of "EC2-VPC Elastic IPs" (per region; 5 unless raised). */
const ELASTIC_IP_QUOTA_CODE = 'L-0263D0A3';

export interface ElasticIpUse {
  /** The account's limit in this region (DescribeAccountAttributes vpc-max-elastic-ips). */
  quota: number;
  /** Addresses allocated in this region, by anything. */
  allocated: number;
  /** Of the access servers to add, those whose address already exists (a re-run). */
  alreadyAllocated: number;
}

/** Pure: the refusal when `adding` access servers need more Elastic IPs than the quota leaves, else undefined. */
export function elasticIpQuotaProblem(use: ElasticIpUse, adding: number, region: string): string | undefined {
  const need = adding - use.alreadyAllocated;
  if (need <= 0 || use.allocated + need <= use.quota) return undefined;
  return `adding ${adding} access server${adding === 1 ? '' : 's'} needs ${need} more Elastic IP${need === 1 ? '' : 's'}, but the account's "EC2-VPC Elastic IPs" quota in ${region} is ${use.quota} and ${use.allocated} are allocated (the NAT gateway holds one): release unused addresses, or request more with \`aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${ELASTIC_IP_QUOTA_CODE} --desired-value ${use.allocated + need} --region ${region}\`; nothing was changed`;
}

/** Reads the quota and the addresses in use, and refuses before anything is created when they fall short. */
export async function checkElasticIpQuota(
  ec2: EC2Client,
  deployment: string,
  region: string,
  indexes: readonly number[],
): Promise<void> {
  const [attributes, addresses] = await Promise.all([
    call('EC2 DescribeAccountAttributes', () => ec2.send(new DescribeAccountAttributesCommand({}))),
    call('EC2 DescribeAddresses', () => ec2.send(new DescribeAddressesCommand({}))),
  ]);
  const value = attributes.AccountAttributes?.find((a) => a.AttributeName === 'vpc-max-elastic-ips')
    ?.AttributeValues?.[0]?.AttributeValue;
  const quota = Number(value);
  if (!value || !Number.isFinite(quota)) return;
  const wanted = new Set(indexes.map(accessServerEipComponent));
  const alreadyAllocated = (addresses.Addresses ?? []).filter(
    (a) => ownedBy(a.Tags, deployment) && wanted.has(componentOfTags(a.Tags)),
  ).length;
  const problem = elasticIpQuotaProblem(
    { quota, allocated: addresses.Addresses?.length ?? 0, alreadyAllocated },
    indexes.length,
    region,
  );
  if (problem) throw new QuotaError(problem);
}
