import nacl from 'tweetnacl';

/**
 * A secret the controller returns only to the wavectl that asked: wavectl sends a one-time public key, the
 * controller seals the secret to it (NaCl box: X25519 + XSalsa20-Poly1305, with a one-time key of its own).
 * The answer may then cross the SSM relay, whose command output AWS keeps in its history, without the
 * secret being readable there.
 */
export interface SealedSecret {
  /** base64, 24 bytes */
  nonce: string;
  /** base64, the controller's one-time public key */
  senderPublicKey: string;
  /** base64 */
  box: string;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

export const SEALING_PUBLIC_KEY_PATTERN = '^[A-Za-z0-9+/]{43}=$';

export function sealFor(recipientPublicKey: string, plaintext: string): SealedSecret {
  const sender = nacl.box.keyPair();
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const box = nacl.box(Buffer.from(plaintext, 'utf8'), nonce, bytes(recipientPublicKey), sender.secretKey);
  return { nonce: b64(nonce), senderPublicKey: b64(sender.publicKey), box: b64(box) };
}

/** The recipient's side: a one-time key pair, and the opening of what was sealed to it. */
export function sealingKeyPair() {
  const pair = nacl.box.keyPair();
  return {
    publicKey: b64(pair.publicKey),
    open(sealed: SealedSecret): string | undefined {
      const opened = nacl.box.open(
        bytes(sealed.box),
        bytes(sealed.nonce),
        bytes(sealed.senderPublicKey),
        pair.secretKey,
      );
      return opened ? Buffer.from(opened).toString('utf8') : undefined;
    },
  };
}
