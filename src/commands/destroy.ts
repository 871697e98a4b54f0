import type { CommandDefinition } from './command';

export const destroyCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('destroy')
      .description('delete every AWS resource tagged with this deployment (asks for its name unless --yes)')
      .action(
        run(async (ctx) => {
          const { destroy, renderDestroyResult } = await import('../deploy/destroy');
          ctx.io.result(await destroy(ctx), renderDestroyResult);
        }),
      );
  },
};
