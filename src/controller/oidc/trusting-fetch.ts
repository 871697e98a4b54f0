import { rootCertificates } from 'node:tls';
import { exchange } from '../../controller-client/http-exchange';

const TIMEOUT_MS = 15_000;

/**
 * A fetch for openid-client that verifies TLS against the system's roots plus `extraCaPem` (a private
 * provider's CA, e.g. a Keycloak inside the VPC): Node 20's global fetch takes no per-call CA.
 */
export function trustingFetch(extraCaPem?: string): typeof fetch {
  const ca = extraCaPem ? [...rootCertificates, extraCaPem].join('\n') : undefined;
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const headers = Object.fromEntries(
      new Headers(init?.headers ?? (input instanceof Request ? input.headers : {})),
    );
    const body = init?.body === undefined || init.body === null ? undefined : String(init.body);
    const res = await exchange(url, {
      method: init?.method ?? 'GET',
      headers,
      body,
      ca,
      timeoutMs: TIMEOUT_MS,
    });
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v);
    const empty = res.status === 204 || res.status === 304;
    return new Response(empty ? null : res.text, { status: res.status, headers: out });
  };
}
