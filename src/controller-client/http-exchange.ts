import {
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { Readable } from 'node:stream';

export interface Exchange {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** PEM of the CA that must have signed an https server's certificate (the deployment CA). */
  ca?: string;
  timeoutMs: number;
}

/**
 * One HTTP(S) request with node:http(s): unlike the global fetch of Node 20, it takes the CA to verify
 * against per request, so wavectl trusts exactly the deployment CA and nothing it was not told to.
 */
export interface Exchanged {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Starts a request with node:http or node:https; an https one is verified against `ca`. */
function start(
  url: string,
  options: RequestOptions,
  ca: string | undefined,
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  const target = new URL(url);
  const https = target.protocol === 'https:';
  return (https ? httpsRequest : httpRequest)(target, { ...options, ...(https ? { ca } : {}) }, onResponse);
}

/** A response's whole body as UTF-8 text. */
function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

export function exchange(url: string, options: Exchange): Promise<Exchanged> {
  return new Promise((resolve, reject) => {
    const req = start(
      url,
      {
        method: options.method,
        headers: {
          ...options.headers,
          ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }),
        },
        timeout: options.timeoutMs,
      },
      options.ca,
      (res) =>
        readText(res).then(
          (text) => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }),
          reject,
        ),
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A GET whose answer is read as it arrives (server-sent events), verified against `ca` like exchange(). A
 * non-2xx answer is read whole and returned as text instead of a stream.
 */
export function openExchangeStream(
  url: string,
  options: { headers: Record<string, string>; ca?: string; signal: AbortSignal },
): Promise<{ status: number; body?: ReadableStream<Uint8Array>; text?: string }> {
  return new Promise((resolve, reject) => {
    const req = start(
      url,
      { method: 'GET', headers: options.headers, signal: options.signal },
      options.ca,
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve({ status, body: Readable.toWeb(res) as ReadableStream<Uint8Array> });
          return;
        }
        readText(res).then((text) => resolve({ status, text }), reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
