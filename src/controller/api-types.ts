/**
 * The controller API's resource shapes, shared by the controller (repositories, routes) and wavectl's
 * controller client, so the two sides of the wire cannot drift apart.
 */
export interface SiteInput {
  number: number;
  name: string;
  cidr: string;
  publicKey: string;
  accessServer: number;
  /** Lowercase hex SHA-256 of the site's scanner key; the key itself never reaches the controller. */
  scannerKeyHash: string;
}

export interface Site extends Omit<SiteInput, 'scannerKeyHash'> {
  createdAt: string;
  updatedAt: string;
  lastReportAt: string | null;
  deviceCount: number;
  onlineCount: number;
}

export interface AccessServerInput {
  index: number;
  publicKey: string;
  endpoint: string | null;
  tunnelAddress: string;
  instanceId: string | null;
}

export interface AccessServer extends AccessServerInput {
  createdAt: string;
  updatedAt: string;
}
