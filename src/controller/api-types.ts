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

export interface Device {
  site: number;
  ip: string;
  mac: string | null;
  hostname: string | null;
  vendor: string | null;
  online: boolean;
  firstSeen: string;
  lastSeen: string;
  missedScans: number;
  /** The site the device was on before it was seen on `site`; null when it never moved. */
  previousSite: number | null;
  movedAt: string | null;
}

export interface DevicePage {
  devices: Device[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

/** A change in a device's presence, as the controller records it. */
export interface DeviceEvent {
  id: number;
  at: string;
  kind: 'new' | 'missing' | 'returning' | 'moved';
  site: number;
  previousSite: number | null;
  ip: string;
  mac: string | null;
  hostname: string | null;
  vendor: string | null;
}

export interface OfflineAfter {
  site: number;
  /** null: the controller's default applies. */
  missedScans: number | null;
  effective: number;
}
