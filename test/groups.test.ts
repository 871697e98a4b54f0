import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../src/controller/db/transaction';
import {
  addMember,
  createGroup,
  deleteGroup,
  findGroup,
  groupNamesOf,
  listGroups,
  removeMember,
  replaceUpstreamMemberships,
} from '../src/controller/repositories/groups';
import { type RunningController, startController } from '../src/controller/server';
import { renderGroupList } from '../src/groups/manage';
import { runCli } from './helpers/cli';
import { DEPLOYMENT, TEST_API_KEY, writeControllerDeployment } from './helpers/controller';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

let pg: PostgresServer;
let controller: RunningController;

beforeAll(async () => {
  pg = await startPostgres();
  controller = await startController({
    host: '127.0.0.1',
    port: 0,
    databaseUrl: await pg.createDatabase('groups'),
    apiKey: TEST_API_KEY,
    logger: false,
    authRateLimit: { max: 1000, timeWindowMs: 60_000 },
  });
}, 120_000);
afterAll(async () => {
  await controller?.close();
  await pg?.stop();
});

const call = (method: string, url: string, payload?: unknown, headers: Record<string, string> = DEPLOYMENT) =>
  controller.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });

const addUser = async (username: string): Promise<number> => {
  const res = await call('POST', '/users', { username, password: `${username}-password-1` });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().user.id;
};

/** A bearer session of the user, from /auth/login: it lives until something ends the user's sessions. */
const sessionOf = async (username: string): Promise<() => Promise<number>> => {
  const login = await call('POST', '/auth/login', { username, password: `${username}-password-1` }, {});
  expect(login.statusCode, login.body).toBe(200);
  const token = login.json().token as string;
  return async () =>
    (await call('GET', '/auth/session', undefined, { authorization: `Bearer ${token}` })).statusCode;
};

describe('the groups repository (real PostgreSQL)', () => {
  it('makes groups with names unique in any case, adds and removes members, and cascades deletions', async () => {
    const pat = await addUser('repo-pat');
    const sam = await addUser('repo-sam');
    await inTransaction(controller.app.db, async (db) => {
      const lab = await createGroup(db, { name: 'Repo-Lab', description: 'the lab' });
      expect(lab).toMatchObject({ name: 'Repo-Lab', description: 'the lab', members: [] });
      expect(await createGroup(db, { name: 'repo-lab', description: null })).toBeUndefined();
      expect((await findGroup(db, 'REPO-LAB'))?.id).toBe(lab!.id);

      expect(await addMember(db, lab!.id, sam)).toBe(true);
      expect(await addMember(db, lab!.id, sam)).toBe(false);
      expect(await addMember(db, lab!.id, pat)).toBe(true);
      expect((await findGroup(db, 'repo-lab'))?.members).toEqual([
        { userId: pat, username: 'repo-pat', source: 'local' },
        { userId: sam, username: 'repo-sam', source: 'local' },
      ]);
      expect(await removeMember(db, lab!.id, sam)).toBe(true);
      expect(await removeMember(db, lab!.id, sam)).toBe(false);
      expect(await groupNamesOf(db, pat)).toEqual(['Repo-Lab']);
      expect(await deleteGroup(db, lab!.id)).toBe(true);
      expect(await deleteGroup(db, lab!.id)).toBe(false);
      expect(await groupNamesOf(db, pat)).toEqual([]);
    });
    // Removing a user takes their memberships with them.
    const kept = await inTransaction(controller.app.db, async (db) => {
      const g = await createGroup(db, { name: 'repo-kept', description: null });
      await addMember(db, g!.id, sam);
      return g!;
    });
    expect((await call('DELETE', `/users/${sam}`)).json()).toEqual({ deleted: true });
    expect((await findGroup(controller.app.db, kept.name))?.members).toEqual([]);
  });

  it('replaces upstream memberships at each sign-in, keeps local ones, and names the groups that do not exist', async () => {
    const uma = await addUser('repo-uma');
    const names = await inTransaction(controller.app.db, async (db) => {
      const ids: Record<string, number> = {};
      for (const name of ['up-ops', 'up-dev', 'up-lab']) {
        ids[name] = (await createGroup(db, { name, description: null }))!.id;
      }
      await addMember(db, ids['up-lab']!, uma);

      const first = await replaceUpstreamMemberships(db, uma, ['UP-OPS', 'no-such-group', 'up-lab']);
      expect(first).toEqual(['no-such-group']);
      const afterFirst = (await listGroups(db))
        .filter((g) => g.name.startsWith('up-'))
        .map((g) => [g.name, g.members.map((m) => m.source)]);
      expect(afterFirst).toEqual([
        ['up-dev', []],
        ['up-lab', ['local']],
        ['up-ops', ['upstream']],
      ]);

      // The next sign-in no longer grants up-ops: it goes, up-dev comes, the operator's up-lab stays.
      expect(await replaceUpstreamMemberships(db, uma, ['up-dev'])).toEqual([]);
      expect(await groupNamesOf(db, uma)).toEqual(['up-dev', 'up-lab']);
      expect(await replaceUpstreamMemberships(db, uma, [])).toEqual([]);
      expect(await groupNamesOf(db, uma)).toEqual(['up-lab']);

      // An operator adding a user the upstream provider granted makes the membership theirs: it survives.
      await replaceUpstreamMemberships(db, uma, ['up-ops']);
      expect(await addMember(db, ids['up-ops']!, uma)).toBe(false);
      await replaceUpstreamMemberships(db, uma, []);
      return groupNamesOf(db, uma);
    });
    expect(names).toEqual(['up-lab', 'up-ops']);
  });
});

describe('/api/groups (deployment key only)', () => {
  it('creates, lists, shows and deletes groups; refuses taken, built-in and malformed names', async () => {
    const created = await call('POST', '/api/groups', { name: 'ops', description: 'Operations' });
    expect(created.statusCode, created.body).toBe(201);
    const ops = created.json().group;
    expect(ops).toEqual({
      id: expect.any(Number),
      name: 'ops',
      description: 'Operations',
      createdAt: expect.any(String),
      members: [],
    });
    const taken = await call('POST', '/api/groups', { name: 'OPS' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error.message).toBe('a group named OPS exists already');
    for (const name of ['waveshift-users', 'WaveShift-Admins']) {
      const builtIn = await call('POST', '/api/groups', { name });
      expect(builtIn.statusCode).toBe(409);
      expect(builtIn.json().error.message).toMatch(/built-in group that follows the role/);
    }
    for (const body of [
      { name: 'two words' },
      { name: '' },
      { name: 'x'.repeat(65) },
      { name: 'nul\u0000' },
      { name: 'ctl', description: 'line\nbreak' },
      { name: 'extra', members: [] },
      {},
    ]) {
      expect((await call('POST', '/api/groups', body)).statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await call('GET', '/api/groups')).json().groups.map((g: { name: string }) => g.name)).toContain(
      'ops',
    );
    expect((await call('GET', `/api/groups/${ops.id}`)).json().group).toEqual(ops);
    const missing = await call('GET', '/api/groups/987654');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toBe('group 987654 does not exist');
    expect((await call('GET', '/api/groups/9007199254740992')).statusCode).toBe(400);
    expect((await call('GET', '/api/groups', undefined, {})).statusCode).toBe(401);

    expect((await call('DELETE', `/api/groups/${ops.id}`)).json()).toEqual({ deleted: true });
    expect((await call('DELETE', `/api/groups/${ops.id}`)).json()).toEqual({ deleted: false });
    const audit = (await call('GET', '/api/audit-log?limit=50')).json().entries as {
      action: string;
      target: string;
    }[];
    expect(audit.filter((e) => e.target === 'group:ops').map((e) => e.action)).toEqual([
      'group.delete',
      'group.create',
    ]);
  });

  it('adds members idempotently, and a removal ends the member’s sessions; all of it audited', async () => {
    const ivy = await addUser('ivy');
    const jon = await addUser('jon');
    const team = (await call('POST', '/api/groups', { name: 'team' })).json().group;
    const member = (method: string, user: number, group = team.id) =>
      call(method, `/api/groups/${group}/members/${user}`);

    const added = await member('PUT', ivy);
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json()).toEqual({
      group: { ...team, members: [{ userId: ivy, username: 'ivy', source: 'local' }] },
      changed: true,
    });
    expect((await member('PUT', ivy)).json().changed).toBe(false);
    expect((await member('PUT', jon)).json().group.members).toHaveLength(2);

    const unknownUser = await member('PUT', 987654);
    expect(unknownUser.statusCode).toBe(404);
    expect(unknownUser.json().error.message).toBe('user 987654 does not exist');
    expect((await member('DELETE', ivy, 987654)).json().error.message).toBe('group 987654 does not exist');

    // Adding ends nothing; removing ends the member's sessions, and only theirs.
    const ivySession = await sessionOf('ivy');
    const jonSession = await sessionOf('jon');
    expect((await member('PUT', ivy)).statusCode).toBe(200);
    expect(await ivySession()).toBe(200);
    const removed = await member('DELETE', ivy);
    expect(removed.json()).toEqual({
      group: { ...team, members: [{ userId: jon, username: 'jon', source: 'local' }] },
      changed: true,
    });
    expect(await ivySession()).toBe(401);
    expect(await jonSession()).toBe(200);
    expect((await member('DELETE', ivy)).json().changed).toBe(false);

    // Removing the group ends its remaining members' sessions.
    expect((await call('DELETE', `/api/groups/${team.id}`)).json()).toEqual({ deleted: true });
    expect(await jonSession()).toBe(401);

    const audit = (await call('GET', '/api/audit-log?limit=50')).json().entries as {
      action: string;
      target: string;
      detail: unknown;
    }[];
    expect(
      audit
        .filter((e) => e.target === 'group:team')
        .reverse()
        .map((e) => [e.action, e.detail]),
    ).toEqual([
      ['group.create', null],
      ['group.member-add', { user: 'ivy' }],
      ['group.member-add', { user: 'jon' }],
      ['group.member-remove', { user: 'ivy', source: 'local' }],
      ['group.delete', { members: ['jon'] }],
    ]);
  });

  it('is in the OpenAPI document under the deployment key, with links from the group a POST makes', async () => {
    const doc = (await call('GET', '/openapi.json')).json();
    for (const [path, methods] of [
      ['/api/groups', ['get', 'post']],
      ['/api/groups/{id}', ['get', 'delete']],
      ['/api/groups/{id}/members/{userId}', ['put', 'delete']],
    ] as const) {
      for (const method of methods) {
        expect(doc.paths[path][method].security, `${method} ${path}`).toEqual([{ apiKey: [] }]);
        expect(doc.paths[path][method].tags).toEqual(['groups']);
      }
    }
    expect(doc.paths['/api/groups'].post.responses['201'].links['get-api-groups-id']).toEqual({
      operationRef: '#/paths/~1api~1groups~1{id}/get',
      parameters: { id: '$response.body#/group/id' },
    });
  });
});

describe('wavectl groups (the CLI against the controller over HTTP)', () => {
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  const cli = (args: string[], more: { stdin?: string; tty?: boolean } = {}) =>
    runCli(['--dir', tmp.path, ...args], {
      cwd: tmp.path,
      env: { WAVESHIFT_API_KEY: TEST_API_KEY },
      ...more,
    });

  beforeAll(async () => {
    tmp = await makeTempDir('wavectl-groups-');
    await writeControllerDeployment(tmp.path, controller.url);
    await addUser('kim');
  });
  afterAll(() => tmp?.remove());

  it('adds a group, a member, shows them (also in users show), removes the member and the group', async () => {
    const added = await cli(['groups', 'add', 'Lab', '--description', 'the test lab', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({
      action: 'added',
      group: { name: 'Lab', description: 'the test lab' },
      // A local controller: wavectl.json records no Kasm host, so no AWS call is made and Kasm is not changed.
      kasm: { state: 'not-deployed' },
    });
    expect(added.json<{ kasm: { detail: string } }>().kasm.detail).toBe(
      'wavectl.json records no Kasm host (no `wavectl deploy` from here): Kasm was not changed; `wavectl groups kasm Lab` gives it to Kasm once a deployment’s Kasm host can be reached, or add a Kasm group of that name with an SSO Group Mapping from that claim value in Kasm’s admin UI (README “Kasm signs in with Waveshift”)',
    );
    expect((await cli(['groups', 'add', 'lab'])).stderr).toMatch(
      /^wavectl: controller refused POST \/api\/groups .*HTTP 409 a group named lab exists already/,
    );

    const member = await cli(['groups', 'add-member', 'lab', 'KIM']);
    expect(member.code, member.stderr).toBe(0);
    expect(member.stdout.trim()).toBe('kim added to Lab; Kasm sees it at their next sign-in.');
    const again = await cli(['groups', 'add-member', 'lab', 'kim', '--json']);
    expect(again.json()).toMatchObject({
      action: 'member-added',
      member: { username: 'kim', changed: false },
    });

    const list = await cli(['groups', 'list']);
    expect(list.stdout).toMatch(/^group +description +members\nLab +the test lab +kim\n/);
    expect(list.stdout).toMatch(/waveshift-users \(every user\) and waveshift-admins \(admins\)/);
    const listed = (await cli(['groups', 'list', '--json'])).json<{ groups: { name: string }[] }>();
    expect(listed.groups.map((g) => g.name)).toContain('Lab');
    const shown = await cli(['groups', 'show', 'lab']);
    expect(shown.stdout).toMatch(/^Lab \(the test lab\), created .*\nmember +granted by\nkim +operator\n/);
    const user = (await cli(['users', 'show', 'kim', '--json'])).json<{ groups: string[] }>();
    expect(user.groups).toEqual(['Lab', 'waveshift-users']);
    expect((await cli(['users', 'show', 'kim'])).stdout).toMatch(/^Groups: Lab, waveshift-users$/m);

    const out = await cli(['groups', 'remove-member', 'lab', 'kim']);
    expect(out.stdout.trim()).toBe('kim removed from Lab; their sessions and refresh tokens are ended.');
    expect((await cli(['groups', 'remove-member', 'lab', 'kim'])).stdout.trim()).toBe('kim is not in Lab.');

    // No terminal is never a yes; a wrong typed name changes nothing; the typed name or --yes removes.
    const refused = await cli(['groups', 'remove', 'lab']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'wavectl: refusing to remove group Lab without --yes (no terminal to ask)',
    );
    const mistyped = await cli(['groups', 'remove', 'lab'], { tty: true, stdin: 'lab\n' });
    expect(mistyped.code).not.toBe(0);
    expect((await cli(['groups', 'show', 'lab'])).code).toBe(0);
    const typed = await cli(['groups', 'remove', 'lab', '--json'], { tty: true, stdin: 'Lab\n' });
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.json()).toMatchObject({
      action: 'removed',
      group: { name: 'Lab' },
      kasm: { state: 'left' },
    });
    expect((await cli(['groups', 'list'])).stdout).not.toMatch(/^Lab /m);
    expect(renderGroupList({ groups: [] })).toMatch(
      /^No groups\. Add one with `wavectl groups add <name>`\./,
    );
  });

  it('says in one line which group or user does not exist, and refuses the built-in groups (exit 2)', async () => {
    const crew = await cli(['groups', 'add', 'crew', '--no-kasm']);
    expect(crew.code, crew.stderr).toBe(0);
    expect(crew.stdout.split('\n').slice(0, 2)).toEqual([
      'Group crew added.',
      'Kasm: skipped: --no-kasm: Kasm was not changed; `wavectl groups kasm crew` gives it to Kasm once a deployment’s Kasm host can be reached, or add a Kasm group of that name with an SSO Group Mapping from that claim value in Kasm’s admin UI (README “Kasm signs in with Waveshift”).',
    ]);
    const later = await cli(['groups', 'kasm', 'CREW', '--json']);
    expect(later.code, later.stderr).toBe(0);
    expect(later.json()).toMatchObject({
      action: 'kasm',
      group: { name: 'crew' },
      kasm: { state: 'not-deployed' },
    });
    const removed = await cli(['groups', 'remove', 'crew', '--yes']);
    expect(removed.stdout).toMatch(
      /^Kasm: Kasm's group crew, if any, is left as it is \(removing it would drop what was configured for it in Kasm\)/m,
    );
    expect((await cli(['groups', 'add', 'crew'])).code).toBe(0);
    for (const [args, message] of [
      [['groups', 'show', 'nope'], 'wavectl: no group nope (see `wavectl groups list`)'],
      [['groups', 'add-member', 'nope', 'kim'], 'wavectl: no group nope (see `wavectl groups list`)'],
      [['groups', 'remove-member', 'crew', 'nobody'], 'wavectl: no user nobody (see `wavectl users list`)'],
      [['groups', 'remove', 'nope', '--yes'], 'wavectl: no group nope (see `wavectl groups list`)'],
      [['groups', 'kasm', 'nope'], 'wavectl: no group nope (see `wavectl groups list`)'],
      [
        ['groups', 'add-member', 'waveshift-admins', 'kim'],
        'wavectl: waveshift-admins is a built-in group that follows the role (every user is in waveshift-users, every admin also in waveshift-admins): it cannot be made, removed or joined by hand',
      ],
    ] as const) {
      const run = await cli([...args]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim()).toBe(message);
    }
    const badName = await cli(['groups', 'add', 'two words']);
    expect(badName.code).toBe(2);
    expect(badName.stderr.trim()).toBe(
      `wavectl: a group name has 1 to 64 letters, digits, '.', '_', '@' or '-', not "two words"`,
    );
    expect((await cli(['groups', 'add', 'Waveshift-Users'])).stderr).toMatch(
      /^wavectl: waveshift-users is a built-in group/,
    );
    const json = await cli(['groups', 'show', 'nope', '--json']);
    expect(json.json<{ error: { exitCode: number } }>().error.exitCode).toBe(2);
  });
});
