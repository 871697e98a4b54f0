// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what must not reach a terminal
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A value from a device or a router, safe to print on a terminal: control characters (escape sequences
 * could rewrite the screen) shown as \xNN, long values shortened. Empty or absent prints as `-`. Pure.
 */
export function printable(value: string | null | undefined, max = 40): string {
  if (value === null || value === undefined || value === '') return '-';
  const shown = value.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > max ? `${shown.slice(0, max - 1)}…` : shown;
}
