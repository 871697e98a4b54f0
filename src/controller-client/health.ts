/** The controller's own answer to GET /health, for a controller reached over HTTP (controller.url). */
export interface DirectHealth {
  health: 'healthy' | 'unhealthy';
  detail: string;
}

export async function fetchControllerHealth(baseUrl: string, timeoutMs = 10_000): Promise<DirectHealth> {
  const url = `${baseUrl.replace(/\/+$/, '')}/health`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json().catch(() => ({}))) as {
      status?: string;
      version?: string;
      database?: string;
    };
    const summary = `${url}: HTTP ${response.status}, database ${body.database ?? 'unknown'}, version ${body.version ?? 'unknown'}`;
    return { health: response.ok && body.status === 'ok' ? 'healthy' : 'unhealthy', detail: summary };
  } catch (error) {
    return { health: 'unhealthy', detail: `${url}: no answer (${(error as Error).message})` };
  }
}
