/**
 * Secrets that may appear in service logs, masked before a line is shown: values wavectl knows (the
 * deployment's SSM parameters) and shapes that carry one (an X-API-Key header, a WireGuard private key, a
 * `key=value` whose name says secret). Pure.
 */
const SHAPES: [RegExp, string][] = [
  [/(x-api-key["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1[redacted]'],
  [/(authorization["']?\s*[:=]\s*["']?(?:bearer\s+)?)[^\s"',}]+/gi, '$1[redacted]'],
  [
    /((?:private_?key|api_?key|password|passphrase|secret|token)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi,
    '$1[redacted]',
  ],
];

export function redactLine(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  for (const [shape, replacement] of SHAPES) out = out.replace(shape, replacement);
  return out;
}

/** The same shapes as a sed program, so that secrets are masked on the instance before output leaves it. */
export const SED_REDACTION = [
  String.raw`s/([Xx]-[Aa][Pp][Ii]-[Kk][Ee][Yy]["']?[[:space:]]*[:=][[:space:]]*["']?)[^[:space:]"',}]+/\1[redacted]/g`,
  String.raw`s/([Aa]uthorization["']?[[:space:]]*[:=][[:space:]]*["']?([Bb]earer[[:space:]]+)?)[^[:space:]"',}]+/\1[redacted]/g`,
  String.raw`s/(([Pp]rivate_?[Kk]ey|[Aa][Pp][Ii]_?[Kk][Ee][Yy]|[Pp]assword|[Pp]assphrase|[Ss]ecret|[Tt]oken)["']?[[:space:]]*[:=][[:space:]]*["']?)[^[:space:]"',}]+/\1[redacted]/g`,
];
