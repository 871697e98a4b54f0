import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

export function exchange(url: string, options: Exchange): Promise<Exchanged> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method,
        headers: {
          ...options.headers,
          ...(options.body === undefined ? {} : { 'content-length': Buffer.byteLength(options.body) }),
        },
        timeout: options.timeoutMs,
        ...(target.protocol === 'https:' ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
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
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'GET',
        headers: options.headers,
        signal: options.signal,
        ...(target.protocol === 'https:' ? { ca: options.ca } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve({ status, body: Readable.toWeb(res) as ReadableStream<Uint8Array> });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
