import { UsageError } from '../errors';

/** Parses an option's value as a whole number in [min, max], or fails with one line naming the option. */
export function wholeNumber(option: string, value: unknown, min: number, max: number): number {
  const text = String(value);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

/** Exactly one of the actions must be given. */
export function oneAction(
  command: string,
  options: Record<string, unknown>,
  actions: readonly string[],
): string {
  const given = actions.filter((a) => options[a] !== undefined && options[a] !== false);
  if (given.length !== 1) {
    const flags = actions.map((a) => `--${a.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ');
    throw new UsageError(`${command} needs exactly one of ${flags}`);
  }
  return given[0]!;
}
