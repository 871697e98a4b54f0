import { idSchema, nullableText, text, timestamp } from './common';

export const usernameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._@-]+$',
} as const;
export const passwordSchema = { type: 'string', minLength: 12, maxLength: 1024 } as const;
export const roleSchema = { type: 'string', enum: ['admin', 'user'] } as const;
const displayName = nullableText(128);

export const userSchema = {
  $id: 'User',
  type: 'object',
  required: ['id', 'username', 'displayName', 'role', 'disabled', 'totp', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'integer' },
    username: { type: 'string' },
    displayName,
    role: roleSchema,
    disabled: { type: 'boolean' },
    totp: { type: 'boolean', description: 'whether sign-in asks for a TOTP code after the password' },
    createdAt: timestamp,
    updatedAt: timestamp,
  },
} as const;

export const userParams = {
  type: 'object',
  required: ['id'],
  properties: { id: idSchema },
} as const;

export const createUserSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: { username: usernameSchema, password: passwordSchema, role: roleSchema, displayName },
} as const;

export const updateUserSchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { password: passwordSchema, role: roleSchema, displayName, disabled: { type: 'boolean' } },
} as const;

export const loginSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: {
    username: text(64),
    password: { type: 'string', maxLength: 1024 },
    code: { type: 'string', maxLength: 16, description: 'the TOTP code, for a user with TOTP' },
  },
} as const;

export const sessionSchema = {
  type: 'object',
  required: ['user', 'expiresAt'],
  properties: { user: { $ref: 'User#' }, expiresAt: timestamp },
} as const;
