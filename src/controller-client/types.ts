export type { AccessServer, AccessServerInput, Site, SiteInput } from '../controller/api-types';

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
