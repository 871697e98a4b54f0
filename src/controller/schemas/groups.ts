import { idSchema, nullableText, timestamp } from './common';
import { usernameSchema } from './users';

/** Group names follow the user names' rules: Kasm matches them in its group mappings, so keep them plain. */
export const groupNameSchema = usernameSchema;
const description = nullableText(256);

export const groupSchema = {
  $id: 'Group',
  type: 'object',
  required: ['id', 'name', 'description', 'createdAt', 'members'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    description,
    createdAt: timestamp,
    members: {
      type: 'array',
      items: {
        type: 'object',
        required: ['userId', 'username', 'source'],
        properties: {
          userId: { type: 'integer' },
          username: { type: 'string' },
          source: { type: 'string', enum: ['local', 'upstream'] },
        },
      },
    },
  },
} as const;

export const groupParams = { type: 'object', required: ['id'], properties: { id: idSchema } } as const;

export const memberParams = {
  type: 'object',
  required: ['id', 'userId'],
  properties: { id: idSchema, userId: idSchema },
} as const;

export const createGroupSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: groupNameSchema, description },
} as const;
