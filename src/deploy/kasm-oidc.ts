import type { SSMClient } from '@aws-sdk/client-ssm';
import { ensureRandomSecret } from '../aws/api-key';
import { parameterNames } from '../aws/naming';
import { CONTROLLER_HTTPS_URL } from '../network/service-names';

/** The issuer Kasm is configured with; the controller serves the provider under it. */
export const OIDC_ISSUER = `${CONTROLLER_HTTPS_URL}/auth`;

/**
 * Kasm's OpenID client secret, made once in SSM (SecureString); the controller's install reads it there.
 * Returns what the install script needs: names only, never the secret.
 */
export async function ensureKasmClientSecret(
  ssm: SSMClient,
  deployment: string,
): Promise<{ issuer: string; clientSecretParameter: string }> {
  const name = parameterNames(deployment).kasmOidcClientSecret;
  await ensureRandomSecret(ssm, deployment, {
    name,
    description: 'Kasm OpenID client secret',
    component: 'kasm',
  });
  return { issuer: OIDC_ISSUER, clientSecretParameter: name };
}
