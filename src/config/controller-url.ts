/** Pure: a warning when the controller URL would carry the API key in clear (plain http, not loopback). */
export function plainHttpWarning(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:') return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  return loopback
    ? undefined
    : `controller.url ${url} is plain http to a host that is not this machine: the API key would travel in clear; use https://`;
}
