import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WireGuardPublicKey } from '../src/config/schema';
import { clampPrivateKey, generateKeyPair, publicKeyOf } from '../src/wireguard/keys';

/** `wg pubkey` for many private keys in one process: one key per line in, one per line out. */
function wgPubkeys(privateKeys: string[]): string[] {
  const script = 'while read -r k; do printf "%s\\n" "$k" | wg pubkey; done';
  return execFileSync('sh', ['-c', script], { input: `${privateKeys.join('\n')}\n` })
    .toString()
    .trim()
    .split('\n');
}

describe('WireGuard keys', () => {
  it('derives the same public key as `wg pubkey` for many random keys', () => {
    const pairs = Array.from({ length: 200 }, generateKeyPair);
    expect(wgPubkeys(pairs.map((p) => p.privateKey))).toEqual(pairs.map((p) => p.publicKey));
  });

  it('agrees with `wg pubkey` on keys wg generates itself', () => {
    const keys = Array.from({ length: 20 }, () => execFileSync('wg', ['genkey']).toString().trim());
    expect(keys.map(publicKeyOf)).toEqual(wgPubkeys(keys));
  });

  it('agrees with `wg pubkey` on unclamped random bytes (wg clamps before multiplying)', () => {
    const keys = Array.from({ length: 50 }, () => randomBytes(32).toString('base64'));
    expect(keys.map(publicKeyOf)).toEqual(wgPubkeys(keys));
  });

  it('clamps private keys as `wg genkey` does', () => {
    for (let i = 0; i < 500; i++) {
      const secret = Buffer.from(generateKeyPair().privateKey, 'base64');
      expect(secret[0]! & 7).toBe(0);
      expect(secret[31]! & 128).toBe(0);
      expect(secret[31]! & 64).toBe(64);
    }
    expect([...clampPrivateKey(new Uint8Array(32).fill(255))].filter((_, i) => i === 0 || i === 31)).toEqual([
      248, 127,
    ]);
    expect([...clampPrivateKey(new Uint8Array(32))].filter((_, i) => i === 0 || i === 31)).toEqual([0, 64]);
  });

  it('never repeats a key pair, and every public key passes the config schema', () => {
    const pairs = Array.from({ length: 2000 }, generateKeyPair);
    expect(new Set(pairs.map((p) => p.privateKey)).size).toBe(pairs.length);
    expect(new Set(pairs.map((p) => p.publicKey)).size).toBe(pairs.length);
    for (const p of pairs.slice(0, 500)) expect(WireGuardPublicKey.safeParse(p.publicKey).success).toBe(true);
  });

  it('rejects a malformed private key', () => {
    expect(() => publicKeyOf('too short')).toThrow(RangeError);
    expect(() => clampPrivateKey(new Uint8Array(31))).toThrow(RangeError);
  });
});
