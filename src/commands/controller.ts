import type { ServeOptions } from '../controller/cli/serve';
import type { CommandDefinition } from './command';

export const controllerCommand: CommandDefinition = {
  register(program, run) {
    const controller = program.command('controller').description('the Waveshift controller service');
    controller
      .command('serve')
      .description(
        'run the controller in the foreground; DATABASE_URL selects PostgreSQL (absent: an embedded one in --data-dir), WAVESHIFT_API_KEY is the deployment key',
      )
      .option('--host <address>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port to listen on (0: any free port)', '8080')
      .option(
        '--data-dir <path>',
        'embedded PostgreSQL data, relative to --dir (default .waveshift-controller)',
      )
      .option('--api-key-from-ssm', "use the deployment's API key from SSM instead of WAVESHIFT_API_KEY")
      .option('--offline-after <scans>', 'missed scans before a device is offline (default 2)')
      .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; with --tls-key)')
      .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
      .option('--tls', 'serve HTTPS with a certificate issued now from the deployment CA (key from SSM)')
      .action(
        run<ServeOptions>(async (ctx, options) => {
          const { serveController } = await import('../controller/cli/serve');
          await serveController(ctx, options);
        }),
      );
  },
};
