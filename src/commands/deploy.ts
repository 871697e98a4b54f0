import type { DeployOptions } from '../deploy/deploy';
import { UsageError, WavectlError } from '../errors';
import type { CommandDefinition } from './command';

export const deployCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('deploy')
      .description(
        'create or update the deployment in AWS (VPC, NAT, IAM, DNS, controller, Kasm); idempotent',
      )
      .option('--dry-run', 'print the plan and the estimated monthly cost; change nothing')
      .option(
        '--controller-instance-type <type>',
        'controller instance type (saved to wavectl.json; resizes in place)',
      )
      .option(
        '--kasm-instance-type <type>',
        'Kasm host instance type (saved to wavectl.json; resizes in place)',
      )
      .action(
        run<DeployOptions>(async (ctx, options) => {
          for (const [flag, value] of [
            ['--controller-instance-type', options.controllerInstanceType],
            ['--kasm-instance-type', options.kasmInstanceType],
          ] as const) {
            if (value !== undefined && value.trim() === '')
              throw new UsageError(`${flag} needs an instance type, got an empty value`);
          }
          const { deploy, renderDeployResult } = await import('../deploy/deploy');
          const result = await deploy(ctx, options);
          ctx.io.result(result, renderDeployResult);
          if (result.mode === 'apply' && result.unhealthy.length > 0) {
            throw new WavectlError(`deployed, but unhealthy: ${result.unhealthy.join('; ')}`);
          }
        }),
      );
  },
};
