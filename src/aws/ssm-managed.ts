import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { AwsError } from '../errors';
import { toAwsError } from './aws-error';

export type ManagedState = { status: 'online' } | { status: 'unverifiable'; reason: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the instance's SSM agent is registered and online (Run Command reaches only such instances).
 * Against an emulator that cannot report it, says so instead of pretending: the caller prints the reason.
 */
export async function waitManaged(
  ssm: SSMClient,
  instanceId: string,
  options: { emulator: boolean; timeoutMs?: number; pollMs?: number },
): Promise<ManagedState> {
  if (options.emulator) {
    // moto answers DescribeInstanceInformation with a 500 "not implemented" (which the SDK would retry for
    // a minute): it registers no instance with SSM, so there is nothing to wait for there.
    return {
      status: 'unverifiable',
      reason: 'the AWS emulator does not register instances with SSM; registration not checked',
    };
  }
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  for (;;) {
    try {
      const out = await ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }),
      );
      if (
        out.InstanceInformationList?.some((i) => i.InstanceId === instanceId && i.PingStatus === 'Online')
      ) {
        return { status: 'online' };
      }
    } catch (error) {
      throw toAwsError('SSM DescribeInstanceInformation', error);
    }
    if (Date.now() > deadline) {
      throw new AwsError(
        `instance ${instanceId} did not register with SSM in time: check that it has outbound access (NAT gateway) and the SSM managed-instance policy`,
        {},
      );
    }
    await sleep(options.pollMs ?? (options.emulator ? 500 : 10_000));
  }
}
