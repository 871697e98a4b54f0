import { ControllerError } from '../errors';
import type { ControllerRequest, ControllerResponse, ControllerTransport } from './types';

/** Speaks HTTP to `baseUrl` (config controller.url: a local controller, or one reached over the VPN). */
export function httpTransport(baseUrl: string, apiKey: string, timeoutMs = 30_000): ControllerTransport {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    description: base,
    devicePageSize: 5000,
    async openStream(path, headers, signal) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, { headers: { ...headers, 'X-API-Key': apiKey }, signal });
      } catch (error) {
        if (signal.aborted) throw error;
        throw new ControllerError(
          `cannot reach the controller at ${base} (${(error as Error).message}); is it running? check controller.url in wavectl.json`,
          { cause: error },
        );
      }
      if (!response.ok || !response.body) {
        const text = await response.text().catch(() => '');
        throw new ControllerError(
          `controller refused GET ${path} (${base}): HTTP ${response.status} ${text.slice(0, 200)}`,
          { status: response.status },
        );
      }
      return response.body;
    },
    async send(request: ControllerRequest): Promise<ControllerResponse> {
      let response: Response;
      try {
        response = await fetch(`${base}${request.path}`, {
          method: request.method,
          headers: {
            'X-API-Key': apiKey,
            ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: request.body === undefined ? undefined : JSON.stringify(request.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new ControllerError(
          `cannot reach the controller at ${base} (${(error as Error).message}); is it running? check controller.url in wavectl.json`,
          { cause: error },
        );
      }
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text.length > 0 ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text for the error message
      }
      return { status: response.status, body };
    },
  };
}
