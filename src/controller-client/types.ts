export type {
  AccessServer,
  AccessServerInput,
  Device,
  DeviceEvent,
  DevicePage,
  OfflineAfter,
  Site,
  SiteInput,
} from '../controller/api-types';

/** One HTTP exchange with the controller, however it travels (HTTP, or curl on the instance through SSM). */
export interface ControllerRequest {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  /** Never sent twice, even when the controller answers 503 (e.g. a key rotation). */
  once?: boolean;
}

export interface ControllerResponse {
  status: number;
  body: unknown;
  /** The Retry-After of a 503, where the transport sees headers. */
  retryAfterSeconds?: number;
}

export interface ControllerTransport {
  /** Where requests go, for messages ("http://…" or "SSM relay via i-…"). */
  readonly description: string;
  /**
   * True when a request body reaches the controller only (HTTP(S) straight to it). The SSM relay puts the
   * body in the command's parameters, which SSM keeps in its history: no password may travel that way.
   */
  readonly confidential?: boolean;
  send(request: ControllerRequest): Promise<ControllerResponse>;
  /** Devices asked for per page: as many as one answer of this transport can carry. */
  readonly devicePageSize: number;
  /**
   * Opens a long-lived GET (server-sent events) and returns its body; absent where answers arrive whole
   * (the SSM relay).
   */
  openStream?(
    path: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<ReadableStream<Uint8Array>>;
}
