import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { BackupError } from '../errors';

/**
 * The encrypted envelope of a backup archive. Layout:
 *
 *   WAVECTL-BACKUP 1\n
 *   {"kdf":…,"cipher":"aes-256-gcm","nonce":…,"check":…,"length":N}\n
 *   <N bytes of AES-256-GCM ciphertext><16-byte tag>
 *
 * The key comes from scrypt (node:crypto; N=2^17, r=8, p=1, 128 MiB: OWASP's recommendation) over the
 * passphrase and a random salt; 64 bytes are derived, the first 32 encrypt, the last 32 make `check`, an
 * HMAC that tells a wrong passphrase apart from a damaged file. The two header lines are the cipher's
 * additional data, so a changed header byte fails authentication like a changed ciphertext byte.
 */
const MAGIC = 'WAVECTL-BACKUP 1\n';
const TAG_BYTES = 16;
export const KDF_DEFAULTS = { N: 2 ** 17, r: 8, p: 1 } as const;

interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

interface Header {
  kdf: KdfParams;
  cipher: 'aes-256-gcm';
  nonce: string;
  check: string;
  length: number;
}

function deriveKeys(passphrase: string, kdf: KdfParams): Promise<{ encryption: Buffer; check: Buffer }> {
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase.normalize('NFKC'),
      Buffer.from(kdf.salt, 'base64'),
      64,
      { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 16 * 1024 * 1024 },
      (error, key) =>
        error ? reject(error) : resolve({ encryption: key.subarray(0, 32), check: key.subarray(32) }),
    );
  });
}

const checkValue = (key: Buffer): Buffer =>
  createHmac('sha256', key).update('wavectl backup passphrase check').digest();

export async function seal(
  plaintext: Buffer,
  passphrase: string,
  kdfParams: { N: number; r: number; p: number } = KDF_DEFAULTS,
): Promise<Buffer> {
  const kdf: KdfParams = { name: 'scrypt', ...kdfParams, salt: randomBytes(16).toString('base64') };
  const keys = await deriveKeys(passphrase, kdf);
  const nonce = randomBytes(12);
  const header: Header = {
    kdf,
    cipher: 'aes-256-gcm',
    nonce: nonce.toString('base64'),
    check: checkValue(keys.check).toString('base64'),
    length: plaintext.length,
  };
  const preamble = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`, 'utf8');
  const cipher = createCipheriv('aes-256-gcm', keys.encryption, nonce);
  cipher.setAAD(preamble);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([preamble, body]);
}

/** Pure: the header of a sealed file, or a BackupError saying why the file is not one. */
function readHeader(file: Buffer, label: string): { header: Header; preamble: Buffer; body: Buffer } {
  if (!file.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) {
    throw new BackupError(
      `${label} is not a wavectl backup (or its first bytes are damaged); nothing was changed`,
    );
  }
  const end = file.indexOf(0x0a, MAGIC.length);
  let header: Header;
  try {
    if (end < 0) throw new Error('no header line');
    header = JSON.parse(file.subarray(MAGIC.length, end).toString('utf8')) as Header;
    const { kdf } = header;
    if (
      header.cipher !== 'aes-256-gcm' ||
      kdf?.name !== 'scrypt' ||
      ![kdf.N, kdf.r, kdf.p, header.length].every(Number.isSafeInteger) ||
      kdf.N > 2 ** 20 ||
      kdf.r > 32 ||
      kdf.p > 16
    ) {
      throw new Error('unknown parameters');
    }
  } catch (error) {
    throw new BackupError(
      `${label} has a damaged header (${(error as Error).message}); nothing was changed`,
      {
        cause: error,
      },
    );
  }
  const preamble = file.subarray(0, end + 1);
  const body = file.subarray(end + 1);
  const expected = header.length + TAG_BYTES;
  if (body.length < expected) {
    throw new BackupError(
      `${label} is truncated (${body.length} of ${expected} bytes after the header); use a complete copy; nothing was changed`,
    );
  }
  if (body.length > expected) {
    throw new BackupError(
      `${label} has ${body.length - expected} unexpected trailing bytes; nothing was changed`,
    );
  }
  return { header, preamble, body };
}

/** Decrypts and authenticates; a wrong passphrase, a truncated file or any changed byte is a BackupError. */
export async function open(file: Buffer, passphrase: string, label: string): Promise<Buffer> {
  const { header, preamble, body } = readHeader(file, label);
  const keys = await deriveKeys(passphrase, header.kdf);
  const check = Buffer.from(header.check, 'base64');
  const computed = checkValue(keys.check);
  if (check.length !== computed.length || !timingSafeEqual(check, computed)) {
    throw new BackupError(`wrong passphrase for ${label}; nothing was changed`);
  }
  const decipher = createDecipheriv('aes-256-gcm', keys.encryption, Buffer.from(header.nonce, 'base64'));
  decipher.setAAD(preamble);
  decipher.setAuthTag(body.subarray(header.length));
  try {
    return Buffer.concat([decipher.update(body.subarray(0, header.length)), decipher.final()]);
  } catch (error) {
    throw new BackupError(
      `${label} is corrupt or was tampered with (authentication failed); use another copy; nothing was changed`,
      { cause: error },
    );
  }
}
