import type { CommandDefinition } from './command';

export const statusCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('status')
      .description('every resource of the deployment, instance and controller health, and drift')
      .action(
        run(async (ctx) => {
          const { deploymentStatus, renderStatus } = await import('../deploy/status');
          ctx.io.result(await deploymentStatus(ctx), renderStatus);
        }),
      );
  },
};
