import { badRequest } from '../../http-errors';
import type { DeviceCursor } from '../../repositories/devices';

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** The opaque `next` of a device page: where the following page starts. */
export function encodeCursor(cursor: DeviceCursor): string {
  return Buffer.from(JSON.stringify([cursor.site, cursor.ip, cursor.id])).toString('base64url');
}

/** Reads an `after` cursor back; anything but a cursor this API wrote is a 400. */
export function decodeCursor(text: string): DeviceCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    Array.isArray(value) &&
    value.length === 3 &&
    Number.isInteger(value[0]) &&
    value[0] >= 0 &&
    value[0] <= 255 &&
    typeof value[1] === 'string' &&
    IPV4.test(value[1]) &&
    Number.isSafeInteger(value[2]) &&
    value[2] >= 0
  ) {
    return { site: value[0], ip: value[1], id: value[2] };
  }
  throw badRequest('after is not a cursor of this API: pass the `next` of the previous page unchanged');
}
