import { MAC_PATTERN, nullableText, nullableTimestamp, timestamp } from './common';

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
  required: [
    'site',
    'ip',
    'mac',
    'hostname',
    'vendor',
    'online',
    'firstSeen',
    'lastSeen',
    'missedScans',
    'previousSite',
    'movedAt',
  ],
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
    previousSite: {
      type: ['integer', 'null'],
      description: 'the site the device was on before it was seen on this one',
    },
    movedAt: nullableTimestamp,
  },
} as const;

export const DEFAULT_DEVICE_PAGE = 1000;
export const MAX_DEVICE_PAGE = 5000;

export const deviceQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    site: { type: 'integer', minimum: 0, maximum: 255 },
    sites: {
      type: 'string',
      pattern: '^[0-9]{1,3}(,[0-9]{1,3}){0,255}$',
      description: 'several sites, comma-separated (0,1,12)',
    },
    online: { type: 'boolean' },
    mac: { type: 'string', pattern: MAC_PATTERN },
    firstSeenSince: {
      type: 'string',
      format: 'date-time',
      description: 'only devices first seen (on any site) at or after this time',
    },
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_DEVICE_PAGE,
      default: DEFAULT_DEVICE_PAGE,
      description: `devices per page (default ${DEFAULT_DEVICE_PAGE}, at most ${MAX_DEVICE_PAGE})`,
    },
    after: {
      type: 'string',
      maxLength: 200,
      pattern: '^[A-Za-z0-9_-]+$',
      description:
        "the previous page's `next`, unchanged: the page after it. An opaque cursor that only this API makes; anything else is refused with 400",
    },
  },
} as const;

export const devicePageSchema = {
  type: 'object',
  required: ['devices', 'next'],
  properties: {
    devices: { type: 'array', items: { $ref: 'Device#' } },
    next: {
      type: ['string', 'null'],
      description: 'pass as `after` for the next page; null on the last page. Order: site, ip, then id',
    },
  },
} as const;

export const offlineAfterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['missedScans'],
  properties: {
    missedScans: {
      type: ['integer', 'null'],
      minimum: 1,
      maximum: 1000,
      description: "consecutive missed scans before a device is offline; null: the controller's default",
    },
  },
} as const;

export const offlineAfterResultSchema = {
  type: 'object',
  required: ['site', 'missedScans', 'effective'],
  properties: {
    site: { type: 'integer' },
    missedScans: { type: ['integer', 'null'] },
    effective: { type: 'integer', description: 'the value in force for the site' },
  },
} as const;

export const deviceEventSchema = {
  $id: 'DeviceEvent',
  type: 'object',
  required: ['id', 'at', 'kind', 'site', 'previousSite', 'ip', 'mac', 'hostname', 'vendor'],
  properties: {
    id: { type: 'integer' },
    at: timestamp,
    kind: { type: 'string', enum: ['new', 'missing', 'returning', 'moved'] },
    site: { type: 'integer' },
    previousSite: { type: ['integer', 'null'] },
    ip: { type: 'string' },
    mac: { type: ['string', 'null'] },
    hostname: { type: ['string', 'null'] },
    vendor: { type: ['string', 'null'] },
  },
} as const;

export const deviceEventQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    after: {
      type: 'integer',
      minimum: 0,
      description: 'stream events after this id (also the Last-Event-ID header); default: from now on',
    },
  },
} as const;
