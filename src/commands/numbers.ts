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

/** The command-line flag of a commander option name: `exportConfig` → `--export-config`. */
export const flagOf = (option: string): string =>
  `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Exactly one of the actions must be given. */
export function oneAction(
  command: string,
  options: Record<string, unknown>,
  actions: readonly string[],
): string {
  const given = actions.filter((a) => options[a] !== undefined && options[a] !== false);
  if (given.length !== 1) {
    const flags = actions.map(flagOf).join(', ');
    throw new UsageError(`${command} needs exactly one of ${flags}`);
  }
  return given[0]!;
}

/**
 * Parses a list such as `3,5-7` into sorted unique whole numbers in [min, max]; bad input is a UsageError
 * naming the option. `noun` says what a number is ("site", "access server index"). Pure.
 */
export function numberList(option: string, text: string, min: number, max: number, noun: string): number[] {
  const out = new Set<number>();
  for (const part of String(text)
    .split(',')
    .map((p) => p.trim())) {
    const m = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(part);
    if (!m) throw new UsageError(`${option}: "${part}" is not a ${noun} or range like ${min}-${min + 3}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > to) throw new UsageError(`${option}: range "${part}" runs backwards`);
    if (from < min || to > max)
      throw new UsageError(`${option}: ${noun}s are ${min}-${max}; "${part}" is outside`);
    for (let n = from; n <= to; n++) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}
