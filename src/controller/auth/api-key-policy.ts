/**
 * The one rule for the deployment API key, applied wherever a controller starts (the EC2 service's
 * environment, `wavectl controller serve`, buildApp itself): at least MIN_API_KEY_LENGTH characters, and
 * the fix names a generator, because a key typed by hand is a guessable key. `wavectl deploy` generates 32
 * random bytes (base64url, 43 characters).
 */
export const MIN_API_KEY_LENGTH = 16;
export const API_KEY_GENERATOR = 'openssl rand -base64 32';

/** Why `key` cannot be the deployment key (`source` names where it came from), or undefined when it can. */
export function apiKeyProblem(key: string | undefined, source: string): string | undefined {
  if (!key) return `${source} is not set: the controller refuses to start without its deployment API key`;
  if (key.length < MIN_API_KEY_LENGTH) {
    return `${source} is too short (at least ${MIN_API_KEY_LENGTH} characters); generate one with \`${API_KEY_GENERATOR}\``;
  }
  if (!/^[!-~]+$/.test(key)) {
    return `${source} holds a space, a control or a non-ASCII character, which an X-API-Key header cannot carry faithfully; generate one with \`${API_KEY_GENERATOR}\``;
  }
  return undefined;
}
