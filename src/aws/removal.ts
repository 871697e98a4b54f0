import type { AwsError } from '../errors';
import { toAwsError } from './aws-error';
import { errorName } from './retry';

/** Runs a delete; a resource already gone is what was wanted. */
export async function ignoreMissing(action: string, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (/NotFound|NoSuchEntity|NoSuchBucket|NoSuchHostedZone|ParameterNotFound/.test(errorName(error)))
      return;
    throw toAwsError(action, error);
  }
}

/** Runs a delete, retrying while something still holds the resource (ENIs are released asynchronously). */
export type InUseRetry = (action: string, work: () => Promise<unknown>) => Promise<void>;

export function retryWhileInUse(emulator: boolean): InUseRetry {
  return async (action, work) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ignoreMissing(action, work);
      } catch (error) {
        const code = (error as AwsError).awsCode ?? '';
        if (attempt >= 40 || !/DependencyViolation|InUse|InvalidIPAddress.InUse/.test(code)) throw error;
        await new Promise((r) => setTimeout(r, emulator ? 250 : 15_000));
      }
    }
  };
}
