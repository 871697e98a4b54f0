import { readFile } from 'node:fs/promises';

export interface ServingTls {
  certificatePem: string;
  keyPem: string;
}

export class TlsSourceError extends Error {}

/**
 * The controller's certificate and key from two PEM files (on the instance: written by its install from
 * SSM, readable by root only). Both or neither: one alone is a mistake, not a request for plain HTTP.
 */
export async function readTlsFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
): Promise<ServingTls | undefined> {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new TlsSourceError('a TLS certificate needs its key and the key its certificate: give both files');
  }
  const [certificatePem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  if (!certificatePem.includes('-----BEGIN CERTIFICATE-----'))
    throw new TlsSourceError(`${certFile} holds no PEM certificate`);
  if (!/-----BEGIN (EC |RSA )?PRIVATE KEY-----/.test(keyPem))
    throw new TlsSourceError(`${keyFile} holds no PEM private key`);
  return { certificatePem, keyPem };
}
