import type { Context } from '../context';
import { ControllerError } from '../errors';
import { ControllerClient } from './client';
import { httpTransport } from './http';
import { relayTransport } from './relay';

/**
 * The deployment's controller: HTTP when controller.url is set (API key from WAVESHIFT_API_KEY, else from
 * SSM), otherwise a relay through SSM Run Command on the controller instance (no key leaves the instance).
 */
export async function connectController(ctx: Context): Promise<ControllerClient> {
  const config = await ctx.loadConfig();
  // The AWS SDK loads only when it is needed: an operator with controller.url and WAVESHIFT_API_KEY
  // (a local controller, or on the VPN) starts no AWS client at all.
  if (config.controller.url) {
    let apiKey = ctx.env.WAVESHIFT_API_KEY;
    if (!apiKey) {
      const { GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const { parameterNames } = await import('../aws/naming');
      const { call } = await import('../aws/retry');
      const ssm = await (await ctx.aws()).ssm();
      const name = parameterNames(config.name).apiKey;
      const out = await call(`SSM GetParameter ${name}`, () =>
        ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })),
      );
      apiKey = out.Parameter?.Value;
    }
    if (!apiKey) throw new ControllerError('no API key: set WAVESHIFT_API_KEY or run `wavectl deploy`');
    return new ControllerClient(
      httpTransport(config.controller.url, apiKey, { ca: config.tls?.caCertificate }),
      warnOf(ctx),
    );
  }
  const { findInstance } = await import('../aws/instances');
  const { runShellScript } = await import('../aws/ssm-run');
  const aws = await ctx.aws();
  const ec2 = await aws.ec2();
  const controller = await findInstance(ec2, config.name, 'controller');
  if (controller?.state !== 'running') {
    throw new ControllerError(
      `no running controller instance in deployment ${config.name}: run \`wavectl deploy\`, or set controller.url`,
    );
  }
  const ssm = await aws.ssm();
  const { emulator } = aws;
  return new ControllerClient(
    relayTransport(`SSM relay via ${controller.instanceId}`, async (script) => {
      const result = await runShellScript(ssm, controller.instanceId, script, {
        comment: 'wavectl controller relay',
        timeoutSeconds: 120,
        pollMs: emulator ? 100 : 1000,
      });
      return { stdout: result.stdout, stderr: result.stderr, ok: result.status === 'Success' };
    }),
    warnOf(ctx),
  );
}

const warnOf = (ctx: Context) => (message: string) => ctx.io.warn(message);
