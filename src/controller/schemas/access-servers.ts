import { nullableText, timestamp, WIREGUARD_KEY_PATTERN } from './common';

export const accessServerIndex = { type: 'integer', minimum: 0, maximum: 63 } as const;
export const accessServerParams = {
  type: 'object',
  required: ['index'],
  properties: { index: accessServerIndex },
} as const;

const fields = {
  publicKey: { type: 'string', pattern: WIREGUARD_KEY_PATTERN },
  endpoint: {
    type: ['string', 'null'],
    maxLength: 261,
    pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
  },
  tunnelAddress: { type: 'string', pattern: '^10\\.9\\.0\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$' },
  instanceId: nullableText(64),
} as const;

export const accessServerBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['publicKey', 'endpoint', 'tunnelAddress', 'instanceId'],
  properties: { index: accessServerIndex, ...fields },
} as const;

export const accessServerInputSchema = {
  $id: 'AccessServerInput',
  type: 'object',
  additionalProperties: false,
  required: ['index', 'publicKey', 'endpoint', 'tunnelAddress', 'instanceId'],
  properties: { index: accessServerIndex, ...fields },
} as const;

export const accessServerSchema = {
  $id: 'AccessServer',
  type: 'object',
  required: ['index', 'publicKey', 'endpoint', 'tunnelAddress', 'instanceId', 'createdAt', 'updatedAt'],
  properties: { index: accessServerIndex, ...fields, createdAt: timestamp, updatedAt: timestamp },
} as const;
