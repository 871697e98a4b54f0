import { UsageError } from '../errors';
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
      .command('set-secret')
      .description(
        "store a secret in SSM: idp-client-secret, the upstream identity provider's client secret, from WAVESHIFT_IDP_CLIENT_SECRET or a prompt (then `wavectl deploy` restarts the controller with it)",
      )
      .argument('<name>', 'idp-client-secret')
      .action(
        run(async (ctx, _options, [name]) => {
          if (name !== 'idp-client-secret') {
            throw new UsageError(
              `config set-secret: no secret "${name}"; the one there is: idp-client-secret`,
            );
          }
          const { setIdpClientSecret, renderSetIdpClientSecret } = await import(
            '../config/idp-client-secret'
          );
          ctx.io.result(await setIdpClientSecret(ctx), renderSetIdpClientSecret);
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
