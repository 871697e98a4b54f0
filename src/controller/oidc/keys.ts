import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

export interface ProviderKeys {
  /** Private JWKs the provider signs ID tokens with (its JWKS endpoint publishes the public halves). */
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
}

/**
 * RS256 first: it is the ID token algorithm every OpenID client must support (Core §15.1) and the one Kasm's
 * is documented with; ES256 stays published for clients that ask for it.
 */
function rsaSigningKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { ...jwk, use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };
}

function newKeys(): ProviderKeys {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return {
    jwks: {
      keys: [rsaSigningKey(), { ...jwk, use: 'sig', alg: 'ES256', kid: randomBytes(8).toString('hex') }],
    },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}

/**
 * The provider's keys from PostgreSQL, made on first start. Insert-or-keep, then read: two controllers
 * starting at once agree on one set. They live in the database (not in a file) so a restored backup keeps
 * the tokens it issued verifiable.
 */
export async function loadProviderKeys(db: Pool): Promise<ProviderKeys> {
  const fresh = newKeys();
  await db.query(
    'insert into oidc_keys (id, jwks, cookie_keys) values (1, $1, $2) on conflict (id) do nothing',
    [fresh.jwks, JSON.stringify(fresh.cookieKeys)],
  );
  // Keys made by an earlier controller had ES256 only: the RS256 key is added once (the condition is
  // checked again on the row after a concurrent update, so two controllers add one key between them).
  await db.query(
    `update oidc_keys set jwks = jsonb_set(jwks, '{keys}', $1::jsonb || (jwks->'keys'))
     where id = 1 and not (jwks->'keys' @> '[{"alg": "RS256"}]')`,
    [JSON.stringify([rsaSigningKey()])],
  );
  const { rows } = await db.query<{ jwks: ProviderKeys['jwks']; cookie_keys: string[] }>(
    'select jwks, cookie_keys from oidc_keys where id = 1',
  );
  return { jwks: rows[0]!.jwks, cookieKeys: rows[0]!.cookie_keys };
}
