import { type WavectlConfig, WavectlConfigSchema } from '../config/schema';
import { UsageError } from '../errors';

/** Instance types given on the command line are checked like the config's before anything is changed. */
export function validateInstanceTypes(config: WavectlConfig): void {
  const parsed = WavectlConfigSchema.shape.instances.safeParse(config.instances);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  const option = issue.path[0] === 'kasm' ? '--kasm-instance-type' : '--controller-instance-type';
  throw new UsageError(`${option}: ${issue.message}`);
}
