import type { CommandDefinition } from './command';

export const statusCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('status')
      .description('every resource of the deployment, instance and controller health, and drift')
      .action(
        run(async (ctx) => {
          const { deploymentStatus, renderStatus } = await import('../deploy/status');
          const { WavectlError } = await import('../errors');
          const status = await deploymentStatus(ctx);
          ctx.io.result(status, renderStatus);
          if (!status.ok) {
            const unhealthy = [status.controller, status.kasm].filter((h) => h.health === 'unhealthy').length;
            throw new WavectlError(
              `${status.drift.length} change(s) of drift${unhealthy ? `, ${unhealthy} service(s) unhealthy` : ''}: \`wavectl deploy --dry-run\` shows the repair, \`wavectl deploy\` makes it`,
            );
          }
        }),
      );
  },
};
