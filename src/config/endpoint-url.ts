import { UsageError } from '../errors';

/**
 * Pure: each given endpoint setting must be an http(s) URL, or the SDK fails later with a TypeError or an
 * XML parse error that names nothing. (wavectl.json's aws.endpointUrl is checked by its schema.)
 */
export function assertEndpointUrls(settings: readonly (readonly [string, string | undefined])[]): void {
  for (const [name, value] of settings) {
    if (value === undefined) continue;
    let ok = false;
    try {
      const url = new URL(value);
      ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(`${name}: "${value}" is not an http(s) URL such as http://127.0.0.1:5000`);
  }
}
