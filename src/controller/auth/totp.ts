import { Secret, TOTP } from 'otpauth';
import type { Pool } from 'pg';
import { claimTotpStep } from '../repositories/users';

/**
 * TOTP (RFC 6238) as every authenticator app reads it: SHA-1, 6 digits, 30-second steps, one step of clock
 * drift either way. otpauth computes the codes (HMAC from @noble/hashes, codes compared in constant time)
 * and writes the otpauth:// URI; what a code may be used for is decided here.
 */
const PARAMETERS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
const DRIFT_STEPS = 1;
export const TOTP_ISSUER = 'Waveshift';

/** A new secret: 160 random bits (RFC 4226's recommended length), base32 as authenticators take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** Pure: the otpauth:// URI an authenticator app enrols from (a QR code of it, or pasted). */
export function totpUri(username: string, secretBase32: string): string {
  return new TOTP({
    ...PARAMETERS,
    issuer: TOTP_ISSUER,
    label: username,
    secret: Secret.fromBase32(secretBase32),
  }).toString();
}

/** Pure: the time step a code is valid for at `at` (within the drift), or undefined for a wrong code. */
export function totpStepOf(code: string, secretBase32: string, at: number): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const secret = Secret.fromBase32(secretBase32);
  const delta = TOTP.validate({ ...PARAMETERS, token, secret, timestamp: at, window: DRIFT_STEPS });
  return delta === null ? undefined : TOTP.counter({ period: PARAMETERS.period, timestamp: at }) + delta;
}

/** Pure: the code of a time step (tests and the operator's own checks; the product never shows one). */
export function totpCodeAt(secretBase32: string, at: number): string {
  return TOTP.generate({ ...PARAMETERS, secret: Secret.fromBase32(secretBase32), timestamp: at });
}

export type TotpVerdict = 'accepted' | 'wrong-code' | 'replayed-code';

/** Checks a code and uses it up: a code of a step already used (or older than one) is refused. */
export async function acceptTotpCode(
  db: Pool,
  user: { id: number; totpSecret: string },
  code: string,
  at = Date.now(),
): Promise<TotpVerdict> {
  const step = totpStepOf(code, user.totpSecret, at);
  if (step === undefined) return 'wrong-code';
  return (await claimTotpStep(db, user.id, step)) ? 'accepted' : 'replayed-code';
}
