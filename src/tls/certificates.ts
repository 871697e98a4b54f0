// @peculiar/x509 resolves its ASN.1 codecs through tsyringe, which needs the Reflect metadata polyfill first.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type CertificateFacts, LIFETIME_DAYS } from './lifetimes';

// @peculiar/x509 signs through WebCrypto; Node's is complete (ECDSA P-256, SHA-256), no native dependency.
x509.cryptoProvider.set(webcrypto as never);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM. The key is a secret: it goes to SSM, never to a file we keep. */
export interface KeyedCertificate {
  certificatePem: string;
  keyPem: string;
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

/** The deployment's own certificate authority: the one every internal client trusts. */
export async function createCertificateAuthority(deployment: string, now: Date): Promise<KeyedCertificate> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=Waveshift ${deployment} CA, O=Waveshift`,
    keys,
    signingAlgorithm: ALGORITHM,
    // A minute of back-dating absorbs clock skew between the laptop and the instances.
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LIFETIME_DAYS.ca * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** A server certificate for `names` and `ips`, signed by the deployment CA. */
export async function issueServerCertificate(
  ca: KeyedCertificate,
  subject: { names: readonly string[]; ips: readonly string[] },
  now: Date,
): Promise<KeyedCertificate> {
  const caCert = new x509.X509Certificate(ca.certificatePem);
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${subject.names[0] ?? subject.ips[0]}`,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.keyPem),
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LIFETIME_DAYS.server * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...subject.names.map((value) => ({ type: 'dns' as const, value })),
        ...subject.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** What a PEM certificate says about itself, read with node:crypto. */
export function certificateFacts(pem: string): CertificateFacts {
  const cert = new X509Certificate(pem);
  const altNames = (cert.subjectAltName ?? '').split(', ').filter(Boolean);
  return {
    fingerprintSha256: cert.fingerprint256,
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    names: altNames.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    ips: altNames.filter((n) => n.startsWith('IP Address:')).map((n) => n.slice(11)),
    issuer: cert.issuer,
  };
}

/** True when `pem` was signed by the CA certificate `caPem`. */
export function signedBy(pem: string, caPem: string): boolean {
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(pem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}
