import type { FastifyPluginAsync } from 'fastify';
import { hashPassword } from '../../auth/passwords';
import { actorOf } from '../../auth/plugin';
import { SEALING_PUBLIC_KEY_PATTERN, sealFor } from '../../auth/sealed-box';
import { newTotpSecret, totpUri } from '../../auth/totp';
import { inTransaction } from '../../db/transaction';
import { conflict, notFound } from '../../http-errors';
import { recordAudit } from '../../repositories/audit';
import {
  createUser,
  deleteSessionsOf,
  deleteUser,
  getUser,
  listUsers,
  type Role,
  setTotpSecret,
  type User,
  updateUser,
} from '../../repositories/users';
import { deletedSchema, responses } from '../../schemas/common';
import { createUserSchema, updateUserSchema, userParams } from '../../schemas/users';

const oneUser = { type: 'object', required: ['user'], properties: { user: { $ref: 'User#' } } } as const;
const manyUsers = {
  type: 'object',
  required: ['users'],
  properties: { users: { type: 'array', items: { $ref: 'User#' } } },
} as const;

interface UpdateBody {
  password?: string;
  role?: Role;
  displayName?: string | null;
  disabled?: boolean;
}

/** User management (deployment key only): the accounts that log in to Kasm through /auth. */
export const userRoutes: FastifyPluginAsync = async (app) => {
  const found = (user: User | undefined, id: number): User => {
    if (!user) throw notFound(`user ${id} does not exist`);
    return user;
  };

  /** Applies changes; a new password, a role change or disabling ends the user's sessions. */
  const change = async (
    request: { id: string; principal: Parameters<typeof actorOf>[0] },
    id: number,
    body: UpdateBody,
  ) => {
    const passwordHash = body.password === undefined ? undefined : await hashPassword(body.password);
    return inTransaction(app.db, async (client) => {
      const user = found(
        await updateUser(client, id, {
          role: body.role,
          displayName: body.displayName,
          disabled: body.disabled,
          passwordHash,
        }),
        id,
      );
      if (passwordHash !== undefined || body.role !== undefined || body.disabled === true) {
        await deleteSessionsOf(client, id);
      }
      await recordAudit(client, {
        actor: actorOf(request.principal),
        action: body.disabled === true && Object.keys(body).length === 1 ? 'user.disable' : 'user.update',
        target: `user:${user.username}`,
        detail: {
          fields: Object.keys(body).sort(),
        },
        requestId: request.id,
      });
      return user;
    });
  };

  app.get('/users', { schema: { tags: ['users'], response: responses({ 200: manyUsers }) } }, async () => ({
    users: await listUsers(app.db),
  }));

  app.get<{ Params: { id: number } }>(
    '/users/:id',
    { schema: { tags: ['users'], params: userParams, response: responses({ 200: oneUser }) } },
    async (request) => ({ user: found(await getUser(app.db, request.params.id), request.params.id) }),
  );

  app.post<{ Body: { username: string; password: string; role?: Role; displayName?: string | null } }>(
    '/users',
    { schema: { tags: ['users'], body: createUserSchema, response: responses({ 201: oneUser }) } },
    async (request, reply) => {
      const passwordHash = await hashPassword(request.body.password);
      const user = await inTransaction(app.db, async (client) => {
        const created = await createUser(client, {
          username: request.body.username,
          displayName: request.body.displayName ?? null,
          role: request.body.role ?? 'user',
          passwordHash,
        });
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: 'user.create',
          target: `user:${created.username}`,
          detail: { role: created.role },
          requestId: request.id,
        });
        return created;
      });
      return reply.code(201).send({ user });
    },
  );

  app.patch<{ Params: { id: number }; Body: UpdateBody }>(
    '/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'change a user',
        description:
          'At least one field. A new password, a role change or `disabled: true` ends all sessions of the user.',
        params: userParams,
        body: updateUserSchema,
        response: responses({ 200: oneUser }),
      },
    },
    async (request) => ({ user: await change(request, request.params.id, request.body) }),
  );

  app.post<{ Params: { id: number } }>(
    '/users/:id/disable',
    {
      schema: {
        tags: ['users'],
        summary: 'disable a user and end their sessions',
        params: userParams,
        response: responses({ 200: oneUser }),
      },
    },
    async (request) => ({ user: await change(request, request.params.id, { disabled: true }) }),
  );

  app.post<{ Params: { id: number }; Body: { recipientPublicKey: string } }>(
    '/users/:id/totp',
    {
      schema: {
        tags: ['users'],
        summary: 'turn TOTP on for a user with a new secret',
        description:
          'The secret and its otpauth:// URI are answered once, sealed (NaCl box) to the one-time public key given, so that no relay or log in between can read them. 409 when TOTP is on already: turn it off first.',
        params: userParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['recipientPublicKey'],
          properties: { recipientPublicKey: { type: 'string', pattern: SEALING_PUBLIC_KEY_PATTERN } },
        },
        response: responses({
          200: {
            type: 'object',
            required: ['user', 'sealed'],
            properties: {
              user: { $ref: 'User#' },
              sealed: {
                type: 'object',
                required: ['nonce', 'senderPublicKey', 'box'],
                properties: {
                  nonce: { type: 'string' },
                  senderPublicKey: { type: 'string' },
                  box: { type: 'string' },
                },
              },
            },
          },
        }),
      },
    },
    async (request) => {
      const secret = newTotpSecret();
      const user = await inTransaction(app.db, async (client) => {
        const before = found(await getUser(client, request.params.id), request.params.id);
        if (before.totp) throw conflict(`user ${before.username} has TOTP on already: turn it off first`);
        const after = found(await setTotpSecret(client, before.id, secret), before.id);
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: 'user.totp-enable',
          target: `user:${after.username}`,
          requestId: request.id,
        });
        return after;
      });
      const enrolment = JSON.stringify({ secret, uri: totpUri(user.username, secret) });
      return { user, sealed: sealFor(request.body.recipientPublicKey, enrolment) };
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/users/:id/totp',
    {
      schema: {
        tags: ['users'],
        summary: 'turn TOTP off for a user (their password alone signs them in again)',
        params: userParams,
        response: responses({ 200: oneUser }),
      },
    },
    async (request) => ({
      user: await inTransaction(app.db, async (client) => {
        const user = found(await setTotpSecret(client, request.params.id, null), request.params.id);
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: 'user.totp-disable',
          target: `user:${user.username}`,
          requestId: request.id,
        });
        return user;
      }),
    }),
  );

  app.delete<{ Params: { id: number } }>(
    '/users/:id',
    { schema: { tags: ['users'], params: userParams, response: responses({ 200: deletedSchema }) } },
    async (request) => {
      const deleted = await inTransaction(app.db, async (client) => {
        const user = await getUser(client, request.params.id);
        if (!user) return false;
        await deleteUser(client, user.id);
        await recordAudit(client, {
          actor: actorOf(request.principal),
          action: 'user.delete',
          target: `user:${user.username}`,
          requestId: request.id,
        });
        return true;
      });
      return { deleted };
    },
  );
};
