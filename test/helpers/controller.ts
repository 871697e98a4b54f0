import { hashScannerKey } from '../../src/controller/auth/scanner-key';

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
