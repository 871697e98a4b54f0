import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * User passwords, hashed with scrypt (node:crypto, no native dependency). The stored form carries its
 * parameters, `scrypt$N$r$p$salt$hash` (base64url), so they can be raised later without breaking old hashes.
 */
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { ...options, maxmem: 64 * 1024 * 1024 },
      (e, key) => (e ? reject(e) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

/**
 * What a user signed in by the upstream identity provider has instead of a hash: not a scrypt hash, so no
 * password verifies against it.
 */
export const NO_LOCAL_PASSWORD = '!upstream';

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) {
    // As long as a real check: a quick refusal would tell which user names belong to upstream users.
    await verifyPassword(password, await DECOY_HASH_PROMISE());
    return false;
  }
  const expected = Buffer.from(hash, 'base64url');
  const key = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * A hash of nothing anyone knows: login verifies against it when the user does not exist, so that a wrong
 * user name costs the same time as a wrong password and does not reveal which user names exist.
 */
export const DECOY_HASH_PROMISE: () => Promise<string> = (() => {
  let decoy: Promise<string> | undefined;
  return () => {
    decoy ??= hashPassword(randomBytes(16).toString('hex'));
    return decoy;
  };
})();
