import type { CommandDefinition } from './command';

export const configCommand: CommandDefinition = {
  register(program, run) {
    const config = program.command('config').description('check wavectl.json, or print its JSON Schema');
    config
      .command('validate')
      .description('check wavectl.json in --dir and print every problem with its JSON path (exit 2 if any)')
      .action(
        run(async (ctx) => {
          const { validateConfigFile, renderValidation } = await import('../config/validate');
          ctx.io.result(await validateConfigFile(ctx.options.dir), renderValidation);
        }),
      );
    config
      .command('schema')
      .description('print the JSON Schema of wavectl.json')
      .action(
        run(async (ctx) => {
          const { configJsonSchema } = await import('../config/schema');
          ctx.io.result(configJsonSchema(), (schema) => JSON.stringify(schema, null, 2));
        }),
      );
  },
};
