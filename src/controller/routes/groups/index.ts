import type { FastifyPluginAsync } from 'fastify';
import type { PoolClient } from 'pg';
import { actorOf, type Principal } from '../../auth/plugin';
import { inTransaction } from '../../db/transaction';
import { conflict, notFound } from '../../http-errors';
import { recordAudit } from '../../repositories/audit';
import {
  addMember,
  builtInGroupRefusal,
  createGroup,
  deleteGroup,
  type Group,
  getGroup,
  isBuiltInGroup,
  listGroups,
  removeMember,
} from '../../repositories/groups';
import { deleteSessionsOf, getUser, type User } from '../../repositories/users';
import { deletedSchema, responses } from '../../schemas/common';
import { createGroupSchema, groupParams, memberParams } from '../../schemas/groups';

const oneGroup = { type: 'object', required: ['group'], properties: { group: { $ref: 'Group#' } } } as const;
const manyGroups = {
  type: 'object',
  required: ['groups'],
  properties: { groups: { type: 'array', items: { $ref: 'Group#' } } },
} as const;
const membership = {
  type: 'object',
  required: ['group', 'changed'],
  properties: { group: { $ref: 'Group#' }, changed: { type: 'boolean' } },
} as const;

const found = (group: Group | undefined, id: number): Group => {
  if (!group) throw notFound(`group ${id} does not exist`);
  return group;
};

/**
 * Groups and their members (deployment key only). The groups claim is read when a token is issued, so a
 * removal ends the sessions and refresh tokens of whoever it takes a group from: Kasm must not keep a group
 * that was taken away. An addition ends nothing; it reaches Kasm at the user's next sign-in.
 */
export const groupRoutes: FastifyPluginAsync = async (app) => {
  const tags = ['groups'];

  /** The group and user of a membership route, both existing, inside the transaction. */
  const membershipOf = async (client: PoolClient, params: { id: number; userId: number }) => {
    const group = found(await getGroup(client, params.id), params.id);
    const user: User | undefined = await getUser(client, params.userId);
    if (!user) throw notFound(`user ${params.userId} does not exist`);
    return { group, user, before: group.members.find((m) => m.userId === user.id) };
  };
  const audit = (
    client: PoolClient,
    request: { id: string; principal: Principal },
    action: string,
    group: Group,
    detail?: unknown,
  ) =>
    recordAudit(client, {
      actor: actorOf(request.principal),
      action,
      target: `group:${group.name}`,
      detail,
      requestId: request.id,
    });

  app.get(
    '/api/groups',
    {
      schema: {
        tags,
        summary: 'every group with its members',
        description:
          'The built-in groups waveshift-users and waveshift-admins follow the role and are not listed.',
        response: responses({ 200: manyGroups }),
      },
    },
    async () => ({ groups: await listGroups(app.db) }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/groups/:id',
    { schema: { tags, params: groupParams, response: responses({ 200: oneGroup }) } },
    async (request) => ({ group: found(await getGroup(app.db, request.params.id), request.params.id) }),
  );

  app.post<{ Body: { name: string; description?: string | null } }>(
    '/api/groups',
    {
      schema: {
        tags,
        summary: 'make a group',
        description:
          'Names compare case-insensitively; a taken name or a built-in one (waveshift-users, waveshift-admins) is a 409.',
        body: createGroupSchema,
        response: responses({ 201: oneGroup }),
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      if (isBuiltInGroup(name)) throw conflict(builtInGroupRefusal(name));
      const group = await inTransaction(app.db, async (client) => {
        const created = await createGroup(client, { name, description: request.body.description ?? null });
        if (!created) throw conflict(`a group named ${name} exists already`);
        await audit(client, request, 'group.create', created);
        return created;
      });
      return reply.code(201).send({ group });
    },
  );

  app.delete<{ Params: { id: number } }>(
    '/api/groups/:id',
    {
      schema: {
        tags,
        summary: 'remove a group',
        description: 'Ends the sessions and refresh tokens of its members.',
        params: groupParams,
        response: responses({ 200: deletedSchema }),
      },
    },
    async (request) => {
      const deleted = await inTransaction(app.db, async (client) => {
        const group = await getGroup(client, request.params.id);
        if (!group || !(await deleteGroup(client, group.id))) return false;
        for (const member of group.members) await deleteSessionsOf(client, member.userId);
        await audit(client, request, 'group.delete', group, {
          members: group.members.map((m) => m.username),
        });
        return true;
      });
      return { deleted };
    },
  );

  app.put<{ Params: { id: number; userId: number } }>(
    '/api/groups/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'add a user to a group',
        description:
          'Idempotent: `changed` is false when the user was a member already. A membership the upstream provider granted becomes one an operator granted. Reaches Kasm at the user’s next sign-in.',
        params: memberParams,
        response: responses({ 200: membership }),
      },
    },
    async (request) =>
      inTransaction(app.db, async (client) => {
        const { group, user, before } = await membershipOf(client, request.params);
        if (before?.source === 'local') return { group, changed: false };
        await addMember(client, group.id, user.id);
        await audit(client, request, 'group.member-add', group, {
          user: user.username,
          ...(before ? { previousSource: before.source } : {}),
        });
        return { group: found(await getGroup(client, group.id), group.id), changed: true };
      }),
  );

  app.delete<{ Params: { id: number; userId: number } }>(
    '/api/groups/:id/members/:userId',
    {
      schema: {
        tags,
        summary: 'take a user out of a group',
        description:
          'Ends the user’s sessions and refresh tokens, so that Kasm loses the group at once. `changed` is false when the user was no member. A membership the upstream provider granted comes back at the user’s next sign-in if the provider still grants it.',
        params: memberParams,
        response: responses({ 200: membership }),
      },
    },
    async (request) =>
      inTransaction(app.db, async (client) => {
        const { group, user, before } = await membershipOf(client, request.params);
        if (!before || !(await removeMember(client, group.id, user.id))) return { group, changed: false };
        await deleteSessionsOf(client, user.id);
        await audit(client, request, 'group.member-remove', group, {
          user: user.username,
          source: before.source,
        });
        return { group: found(await getGroup(client, group.id), group.id), changed: true };
      }),
  );
};
