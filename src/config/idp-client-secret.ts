import type { Context } from '../context';
import { UsageError } from '../errors';
import { IDP_CLIENT_SECRET_ENV, type WavectlConfig } from './schema';

/**
 * The upstream provider's client secret, never from argv: WAVESHIFT_IDP_CLIENT_SECRET, else typed at a
 * terminal. No terminal and no variable is a usage error naming the variable.
 */
export async function obtainIdpClientSecret(ctx: Context, config: WavectlConfig): Promise<string> {
  const fromEnv = ctx.env[IDP_CLIENT_SECRET_ENV]?.trim();
  if (fromEnv) return fromEnv;
  if (!(ctx.stdin as NodeJS.ReadStream).isTTY) {
    throw new UsageError(
      `no client secret for the ${config.identityProvider} identity provider: set ${IDP_CLIENT_SECRET_ENV} (no terminal to prompt for it)`,
    );
  }
  const { promptHidden } = await import('../router/configure-hub');
  const typed = (
    await promptHidden(
      ctx,
      `Client secret of ${config.upstream?.clientId} at ${config.upstream?.issuerUrl}: `,
    )
  ).trim();
  if (!typed) throw new UsageError('the client secret is empty');
  return typed;
}

export interface SetIdpClientSecretResult {
  parameter: string;
  version: string;
  replaced: boolean;
}

/**
 * `wavectl config set-secret idp-client-secret`: a new client secret (rotated at the provider) into SSM. The
 * controller reads it at install; its new version makes the next `wavectl deploy` install the controller
 * again, which restarts it with the secret.
 */
export async function setIdpClientSecret(ctx: Context): Promise<SetIdpClientSecretResult> {
  const config = await ctx.loadConfig();
  if (config.identityProvider === 'local') {
    throw new UsageError(
      'identityProvider is local: there is no upstream provider to keep a client secret for',
    );
  }
  const secret = await obtainIdpClientSecret(ctx, config);
  const { putIdpClientSecret } = await import('../aws/idp-client-secret');
  const stored = await putIdpClientSecret(await (await ctx.aws()).ssm(), config.name, secret);
  return { parameter: stored.name, version: stored.version, replaced: stored.replaced };
}

export function renderSetIdpClientSecret(r: SetIdpClientSecretResult): string {
  return `Stored the client secret in ${r.parameter} (version ${r.version}); run \`wavectl deploy\` to restart the controller with it.`;
}
