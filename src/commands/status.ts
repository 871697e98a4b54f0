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
          const { statusVerdict } = await import('../deploy/status-verdict');
          const { WavectlError } = await import('../errors');
          const status = await deploymentStatus(ctx);
          const verdict = statusVerdict(status);
          ctx.io.result({ ...status, verdict }, renderStatus);
          if (!verdict.ok) throw new WavectlError(`not healthy and in sync: ${verdict.problems.join('; ')}`);
        }),
      );
  },
};
