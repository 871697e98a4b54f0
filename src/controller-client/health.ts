import { exchange } from './http-exchange';

/** The controller's own answer to GET /health, for a controller reached over HTTP(S) (controller.url). */
export interface DirectHealth {
  health: 'healthy' | 'unhealthy';
  detail: string;
}

export async function fetchControllerHealth(
  baseUrl: string,
  options: { ca?: string; timeoutMs?: number } = {},
): Promise<DirectHealth> {
  const url = `${baseUrl.replace(/\/+$/, '')}/health`;
  try {
    const response = await exchange(url, {
      method: 'GET',
      headers: {},
      ca: options.ca,
      timeoutMs: options.timeoutMs ?? 10_000,
    });
    let body: { status?: string; version?: string; database?: string } = {};
    try {
      body = JSON.parse(response.text);
    } catch {
      // not JSON: reported as unhealthy below
    }
    const ok = response.status >= 200 && response.status < 300;
    const summary = `${url}: HTTP ${response.status}, database ${body.database ?? 'unknown'}, version ${body.version ?? 'unknown'}`;
    return { health: ok && body.status === 'ok' ? 'healthy' : 'unhealthy', detail: summary };
  } catch (error) {
    return { health: 'unhealthy', detail: `${url}: no answer (${(error as Error).message})` };
  }
}
