import type { InitOptions } from '../config/init-deployment';
import type { CommandDefinition } from './command';

export const initCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('init')
      .description('write wavectl.json for a new deployment in --dir')
      .option(
        '--identity-provider <name>',
        'local, or an upstream OpenID provider: okta, azure-ad, google, keycloak, auth0 or oidc',
      )
      .option('--issuer-url <url>', 'upstream provider: its issuer, e.g. https://acme.okta.com')
      .option('--client-id <id>', 'upstream provider: the client id Waveshift is registered with')
      .option('--groups-claim <claim>', 'upstream provider: the claim listing groups (default groups)')
      .option('--allowed-email-domain <domain>', 'upstream provider: admit only this email domain')
      .option('--upstream-ca-file <pem>', 'upstream provider: a CA to trust for a private provider')
      .option('--profile <aws-profile>', 'AWS named profile')
      .option('--region <region>', 'AWS region, e.g. us-east-1')
      .option('--name <deployment>', 'deployment name [a-z0-9-]{1,32} (default: from the directory name)')
      .option('--controller-instance-type <type>', 'controller instance type (default t3a.medium)')
      .option('--kasm-instance-type <type>', 'Kasm host instance type (default m6a.2xlarge)')
      .option('--access-server-instance-type <type>', 'access server instance type (default t3.micro)')
      .option('--controller-url <url>', 'reach the controller over HTTP here instead of through SSM')
      .option('--force', 'overwrite an existing wavectl.json')
      .action(
        run<InitOptions>(async (ctx, options) => {
          const { initDeployment, renderInitResult } = await import('../config/init-deployment');
          ctx.io.result(await initDeployment(ctx, options), renderInitResult);
        }),
      );
  },
};
