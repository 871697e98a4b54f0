import type { CommandDefinition } from './command';

export const configCommand: CommandDefinition = {
  register(program, run) {
    const config = program
      .command('config')
      .description('check wavectl.json, change one of its settings, or print its JSON Schema');
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
      .command('set')
      .description(
        'change one setting, e.g. `config set controller.url https://…` or `config set instances.kasm.type m6a.xlarge` (validated; records are kept)',
      )
      .argument(
        '<path>',
        'dotted path of the setting, e.g. controller.url, aws.profile, instances.controller.volumeGb',
      )
      .argument('<value>', 'new value: JSON where it parses (30, true), else the text')
      .action(
        run(async (ctx, _options, [path, value]) => {
          const { setSetting, renderSetSetting } = await import('../config/set-setting');
          ctx.io.result(await setSetting(ctx, path!, value!), renderSetSetting);
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
