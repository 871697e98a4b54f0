import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';

/** A WireGuard key pair, both halves base64 as `wg genkey` / `wg pubkey` print them. */
export interface WireGuardKeyPair {
  privateKey: string;
  publicKey: string;
}

const KEY_BYTES = 32;

/** Clamps a Curve25519 scalar in place exactly as `wg genkey` does (RFC 7748 §5). */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  if (key.length !== KEY_BYTES)
    throw new RangeError(`a WireGuard key is ${KEY_BYTES} bytes, got ${key.length}`);
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key;
}

function decodeKey(base64: string): Uint8Array {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== KEY_BYTES || bytes.toString('base64') !== base64) {
    throw new RangeError('not a base64 WireGuard key (44 characters encoding 32 bytes)');
  }
  return new Uint8Array(bytes);
}

/** The public key of a base64 private key, as `wg pubkey` computes it. */
export function publicKeyOf(privateKey: string): string {
  return Buffer.from(nacl.scalarMult.base(decodeKey(privateKey))).toString('base64');
}

/** A fresh key pair from the operating system's CSPRNG, clamped as `wg genkey` does. */
export function generateKeyPair(): WireGuardKeyPair {
  const secret = clampPrivateKey(new Uint8Array(randomBytes(KEY_BYTES)));
  const privateKey = Buffer.from(secret).toString('base64');
  return { privateKey, publicKey: Buffer.from(nacl.scalarMult.base(secret)).toString('base64') };
}
