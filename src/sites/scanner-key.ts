import { randomBytes } from 'node:crypto';

export { hashScannerKey } from '../controller/auth/scanner-key';

/**
 * A site's scanner key: 32 random bytes, base64url, kept in SSM. Only its hash (hashScannerKey, shared with
 * the controller) travels in a registration, so a registration carries no secret.
 */
export function generateScannerKey(): string {
  return randomBytes(32).toString('base64url');
}
