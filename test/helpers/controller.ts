import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashScannerKey } from '../../src/controller/auth/scanner-key';
import { certificateFacts } from '../../src/tls/certificates';

/** Fixtures shared by the controller's tests: keys and registrations that pass the API's schemas. */
export const TEST_API_KEY = 'test-deployment-key-0123456789abcdef';
export const DEPLOYMENT = { 'x-api-key': TEST_API_KEY } as const;
export const WG_PUBLIC_KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

export const scannerKey = (site: number) => `scanner-${site}-${'k'.repeat(40)}`;
export const asScanner = (site: number) => ({ 'x-api-key': scannerKey(site) });

export const siteInput = (n: number, accessServer = 0) => ({
  name: `site-${n}`,
  cidr: `10.8.${n}.0/24`,
  publicKey: WG_PUBLIC_KEY,
  accessServer,
  scannerKeyHash: hashScannerKey(scannerKey(n)),
});

export const accessServerInput = (index: number) => ({
  publicKey: WG_PUBLIC_KEY,
  endpoint: `203.0.113.${index + 10}:51820`,
  tunnelAddress: `10.9.0.${index + 1}`,
  instanceId: `i-0000000000000000${index}`,
});

/**
 * A deployment directory for the real CLI that reaches the controller at `url` directly (no AWS), trusting
 * the deployment CA `caPem` when given.
 */
export async function writeControllerDeployment(dir: string, url: string, caPem?: string): Promise<void> {
  const tls = caPem && certificateFacts(caPem);
  const config = {
    version: 1,
    name: 'controllertest',
    identityProvider: 'local',
    aws: { profile: 'default', region: 'eu-west-1' },
    controller: { url },
    ...(tls
      ? { tls: { caCertificate: caPem, caFingerprint: tls.fingerprintSha256, caExpires: tls.notAfter } }
      : {}),
  };
  await writeFile(join(dir, 'wavectl.json'), JSON.stringify(config));
}
