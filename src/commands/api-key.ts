import type { CommandDefinition } from './command';

export const apiKeyCommand: CommandDefinition = {
  register(program, run) {
    const apiKey = program.command('api-key').description('the deployment API key');
    apiKey
      .command('rotate')
      .description(
        'a new deployment key in SSM; the controller accepts the old one for --grace, then refuses it',
      )
      .option('--grace <duration>', 'how long the old key stays valid (0, 90s, 10m, 2h)', '10m')
      .action(
        run<{ grace: string }>(async (ctx, options) => {
          const { rotateApiKey, parseGrace, renderRotate } = await import('../api-key/rotate');
          ctx.io.result(await rotateApiKey(ctx, parseGrace(options.grace)), renderRotate);
        }),
      );
  },
};
