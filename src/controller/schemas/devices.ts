import { MAC_PATTERN, nullableText, timestamp } from './common';

export const MAX_DEVICES_PER_REPORT = 1024;

export const reportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['scannedAt', 'devices'],
  properties: {
    scannedAt: { type: 'string', format: 'date-time' },
    devices: {
      type: 'array',
      maxItems: MAX_DEVICES_PER_REPORT,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['ip'],
        properties: {
          ip: { type: 'string', format: 'ipv4' },
          mac: { type: ['string', 'null'], pattern: MAC_PATTERN },
          hostname: nullableText(253),
        },
      },
    },
  },
} as const;

export const reportResultSchema = {
  type: 'object',
  required: ['site', 'received', 'created', 'updated', 'markedOffline'],
  properties: {
    site: { type: 'integer' },
    received: { type: 'integer' },
    created: { type: 'integer' },
    updated: { type: 'integer' },
    markedOffline: { type: 'integer' },
    duplicate: { type: 'boolean', description: 'the same report (scannedAt) was already processed' },
    stale: { type: 'boolean', description: "older than the site's newest report: no device marked offline" },
  },
} as const;

export const deviceSchema = {
  $id: 'Device',
  type: 'object',
  required: ['site', 'ip', 'mac', 'hostname', 'vendor', 'online', 'firstSeen', 'lastSeen', 'missedScans'],
  properties: {
    site: { type: 'integer' },
    ip: { type: 'string' },
    mac: { type: ['string', 'null'] },
    hostname: { type: ['string', 'null'] },
    vendor: { type: ['string', 'null'] },
    online: { type: 'boolean' },
    firstSeen: timestamp,
    lastSeen: timestamp,
    missedScans: { type: 'integer' },
  },
} as const;

export const deviceQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    site: { type: 'integer', minimum: 0, maximum: 255 },
    online: { type: 'boolean' },
    mac: { type: 'string', pattern: MAC_PATTERN },
  },
} as const;
