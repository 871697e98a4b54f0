import { createHash } from 'node:crypto';

/** Fits an account-global name into AWS's length limit, keeping it unique with a hash of the whole name. */
export function boundedName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - 9).replace(/-+$/, '')}-${hash}`;
}

/** Tag list → record. */
export function tagRecord(
  tags: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key) out[t.Key] = t.Value ?? '';
  return out;
}
