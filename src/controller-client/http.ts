import { ControllerError } from '../errors';
import { type Exchanged, exchange, openExchangeStream } from './http-exchange';
import type { ControllerRequest, ControllerResponse, ControllerTransport } from './types';
import { parseRetryAfter } from './unavailable-retry';

/**
 * Speaks HTTP(S) to `baseUrl` (config controller.url: a local controller, or one reached over the VPN). An
 * https URL is verified against `ca` (the deployment CA) only; without it the server is refused.
 */
export function httpTransport(
  baseUrl: string,
  apiKey: string,
  options: { ca?: string; timeoutMs?: number } = {},
): ControllerTransport {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const base = baseUrl.replace(/\/+$/, '');
  return {
    description: base,
    confidential: true,
    devicePageSize: 5000,
    async openStream(path, headers, signal) {
      let response: Awaited<ReturnType<typeof openExchangeStream>>;
      try {
        response = await openExchangeStream(`${base}${path}`, {
          headers: { ...headers, 'X-API-Key': apiKey },
          ca: options.ca,
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw error;
        throw new ControllerError(
          `cannot reach the controller at ${base} (${(error as Error).message}); ${tlsHint(error, options.ca)}`,
          { cause: error },
        );
      }
      if (!response.body) {
        throw new ControllerError(
          `controller refused GET ${path} (${base}): HTTP ${response.status} ${(response.text ?? '').slice(0, 200)}`,
          { status: response.status },
        );
      }
      return response.body;
    },
    async send(request: ControllerRequest): Promise<ControllerResponse> {
      let response: Exchanged;
      try {
        response = await exchange(`${base}${request.path}`, {
          method: request.method,
          headers: {
            'X-API-Key': apiKey,
            ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          ca: options.ca,
          timeoutMs,
        });
      } catch (error) {
        throw new ControllerError(
          `cannot reach the controller at ${base} (${(error as Error).message}); ${tlsHint(error, options.ca)}`,
          { cause: error },
        );
      }
      const text = response.text;
      let body: unknown = text;
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text for the error message
      }
      return {
        status: response.status,
        body,
        retryAfterSeconds: parseRetryAfter(response.headers['retry-after']),
      };
    },
  };
}

const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

function tlsHint(error: unknown, ca: string | undefined): string {
  const code = (error as { code?: string }).code;
  if (code && TLS_CODES.has(code)) {
    return ca
      ? 'its certificate is not one the deployment CA issued for this name: run `wavectl deploy` to renew it'
      : 'no deployment CA to verify it with: run `wavectl deploy` (it records the CA in wavectl.json)';
  }
  return 'is it running? check controller.url in wavectl.json';
}
