import type { CommandDefinition } from './command';

export const caCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('ca')
      .description('print the deployment CA certificate (PEM), to trust in browsers for https://*.internal')
      .action(
        run(async (ctx) => {
          const { showCa } = await import('../tls/show-ca');
          ctx.io.result(await showCa(ctx), (r) => r.certificate.trimEnd());
        }),
      );
  },
};
