import { nullableTimestamp, text, timestamp, WIREGUARD_KEY_PATTERN } from './common';

const siteFields = {
  name: text(64, 1),
  cidr: { type: 'string', pattern: '^10\\.8\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.0/24$' },
  publicKey: { type: 'string', pattern: WIREGUARD_KEY_PATTERN },
  accessServer: { type: 'integer', minimum: 0, maximum: 63 },
} as const;

export const siteNumber = { type: 'integer', minimum: 0, maximum: 255 } as const;
export const siteParams = {
  type: 'object',
  required: ['number'],
  properties: { number: siteNumber },
} as const;

const scannerKeyHash = { type: 'string', pattern: '^[0-9a-fA-F]{64}$' } as const;

/** PUT /api/sites/:number: the number comes from the path; repeating it in the body is allowed if equal. */
export const siteBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'cidr', 'publicKey', 'accessServer', 'scannerKeyHash'],
  properties: { number: siteNumber, ...siteFields, scannerKeyHash },
} as const;

export const siteInputSchema = {
  $id: 'SiteInput',
  type: 'object',
  additionalProperties: false,
  required: ['number', 'name', 'cidr', 'publicKey', 'accessServer', 'scannerKeyHash'],
  properties: { number: siteNumber, ...siteFields, scannerKeyHash },
} as const;

export const siteSchema = {
  $id: 'Site',
  type: 'object',
  required: [
    'number',
    'name',
    'cidr',
    'publicKey',
    'accessServer',
    'createdAt',
    'updatedAt',
    'lastReportAt',
    'deviceCount',
    'onlineCount',
  ],
  properties: {
    number: siteNumber,
    ...siteFields,
    createdAt: timestamp,
    updatedAt: timestamp,
    lastReportAt: nullableTimestamp,
    deviceCount: { type: 'integer' },
    onlineCount: { type: 'integer' },
  },
} as const;
