/** The controller API's shapes that wavectl sends and reads (briefs/controller-api.md). */
export interface SiteInput {
  number: number;
  name: string;
  cidr: string;
  publicKey: string;
  accessServer: number;
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

/** One HTTP exchange with the controller, however it travels (HTTP, or curl on the instance through SSM). */
export interface ControllerRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
}

export interface ControllerResponse {
  status: number;
  body: unknown;
}

export interface ControllerTransport {
  /** Where requests go, for messages ("http://…" or "SSM relay via i-…"). */
  readonly description: string;
  send(request: ControllerRequest): Promise<ControllerResponse>;
}
