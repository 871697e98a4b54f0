import { WavectlError } from '../errors';
import type { CommandDefinition } from './command';

export const statusCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('status')
      .description(
        'every resource of the deployment, instance and controller health, and drift; exit 0 only when all is healthy and in sync, 1 otherwise',
      )
      .action(
        run(async (ctx) => {
          const { deploymentStatus, renderStatus } = await import('../deploy/status');
          const status = await deploymentStatus(ctx);
          ctx.io.result(status, renderStatus);
          if (!status.ok) {
            throw new WavectlError(
              `not healthy and in sync: ${status.verdict.problems.join('; ')}: \`wavectl deploy --dry-run\` shows the repair of any drift, \`wavectl deploy\` makes it`,
            );
          }
        }),
      );
  },
};
