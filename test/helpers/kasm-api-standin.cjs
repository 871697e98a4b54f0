// Stand-in of Kasm Workspaces' API behind its nginx proxy (https://127.0.0.1/api/ on the Kasm host), run
// inside an instance stand-in. It answers the calls Kasm's own admin UI makes (POST /api/authenticate, then
// POST /api/admin/<call> with the session's token and username in the body; a refusal is a 200 carrying
// error_message, an unknown or expired session a 403) and is strict where a lenient stand-in would hide a
// bug: an unknown call is a 404, an unknown or missing field a refusal, a wrong type a refusal.
// Arguments: port, key file, certificate file. Environment: KASM_ADMIN_PASSWORD.
// Each call is printed on stdout as one JSON line {"call": path, "body": body}; a JSON line on stdin
// {"edit": "oidc" | "mapping", "group": name (for a mapping), ...fields} plays an operator changing Kasm by hand, answered {"edited": ...}.
const https = require('node:https');
const fs = require('node:fs');
const { randomUUID } = require('node:crypto');

const [port, keyFile, certFile] = process.argv.slice(2);
const ADMIN = 'admin@kasm.local';
const adminPassword = process.env.KASM_ADMIN_PASSWORD;
if (!adminPassword) throw new Error('KASM_ADMIN_PASSWORD is required');

const dashed = () => randomUUID();
const plain = (id) => String(id).replace(/-/g, '');
const state = {
  sessions: new Set(),
  oidc: [],
  groups: [
    {
      group_id: plain(dashed()),
      name: 'Administrators',
      priority: 1,
      description: 'Administrators',
      is_system: true,
    },
    {
      group_id: plain(dashed()),
      name: 'All Users',
      priority: 100,
      description: 'All users',
      is_system: true,
    },
  ],
  permissions: [
    {
      permission_id: 100,
      name: 'global_admin',
      friendly_name: 'Global Admin',
      description: 'Global Administrator',
    },
    { permission_id: 200, name: 'user', friendly_name: 'User', description: 'Default user permissions' },
    { permission_id: 310, name: 'users_view', friendly_name: 'Users View', description: 'View users' },
  ],
  groupPermissions: [],
  mappings: [],
};

/** The OpenID form's fields (Access Management → Authentication → OpenID) and their types. */
const OIDC_FIELDS = {
  display_name: 'string',
  logo_url: 'string',
  enabled: 'boolean',
  auto_login: 'boolean',
  hostname: 'string',
  is_default: 'boolean',
  client_id: 'string',
  client_secret: 'string',
  auth_url: 'string',
  token_url: 'string',
  user_info_url: 'string',
  scope: 'string',
  username_attribute: 'string',
  groups_attribute: 'string',
  debug: 'boolean',
  redirect_url: 'string',
};
const OIDC_REQUIRED = [
  'display_name',
  'client_id',
  'client_secret',
  'auth_url',
  'token_url',
  'user_info_url',
  'scope',
  'username_attribute',
  'redirect_url',
];

class Refusal extends Error {}
const refuse = (message) => {
  throw new Refusal(message);
};

/** Exactly these keys (required ones present), each of its type. */
function shape(what, value, types, required = Object.keys(types)) {
  if (!value || typeof value !== 'object' || Array.isArray(value)) refuse(`${what} must be an object`);
  for (const key of Object.keys(value)) if (!(key in types)) refuse(`${what}: unknown field ${key}`);
  for (const key of required) if (!(key in value)) refuse(`${what}: missing field ${key}`);
  for (const [key, type] of Object.entries(types)) {
    if (!(key in value)) continue;
    const v = value[key];
    const ok =
      type === 'array' ? Array.isArray(v) : type === 'integer' ? Number.isInteger(v) : typeof v === type;
    if (!ok) refuse(`${what}: ${key} must be ${type}`);
  }
  return value;
}

const oidcOut = (c) => ({ ...c, oidc_id: c.oidc_id });
const group = (id) => state.groups.find((g) => g.group_id === id) ?? refuse(`no group ${id}`);
const oidcById = (id) =>
  state.oidc.find((c) => plain(c.oidc_id) === plain(id)) ?? refuse(`no OpenID config ${id}`);

const ADMIN_CALLS = {
  get_oidc_configs: { body: {}, run: () => ({ oidc_configs: state.oidc.map(oidcOut) }) },
  create_oidc_config: {
    body: { target_oidc_config: 'object' },
    run: ({ target_oidc_config: c }) => {
      shape('target_oidc_config', c, OIDC_FIELDS, OIDC_REQUIRED);
      const stored = { ...c, scope: c.scope.split('\n').filter(Boolean), oidc_id: dashed() };
      state.oidc.push(stored);
      return { oidc_config: oidcOut(stored) };
    },
  },
  update_oidc_config: {
    body: { target_oidc_config: 'object' },
    run: ({ target_oidc_config: c }) => {
      shape('target_oidc_config', c, { ...OIDC_FIELDS, oidc_id: 'string' }, [...OIDC_REQUIRED, 'oidc_id']);
      const stored = oidcById(c.oidc_id);
      Object.assign(stored, c, { scope: c.scope.split('\n').filter(Boolean), oidc_id: stored.oidc_id });
      return { oidc_config: oidcOut(stored) };
    },
  },
  get_groups: { body: {}, run: () => ({ groups: state.groups }) },
  create_group: {
    body: { target_group: 'object' },
    run: ({ target_group: g }) => {
      shape('target_group', g, { name: 'string', description: 'string', priority: 'integer' }, [
        'name',
        'priority',
      ]);
      if (state.groups.some((x) => x.name === g.name)) refuse(`a group named ${g.name} exists`);
      if (state.groups.some((x) => x.priority === g.priority)) refuse(`priority ${g.priority} is taken`);
      const created = { group_id: plain(dashed()), description: '', ...g, is_system: false };
      state.groups.push(created);
      return { group: created };
    },
  },
  get_permissions: { body: {}, run: () => ({ permissions: state.permissions }) },
  get_permissions_group: {
    body: { target_group: 'object' },
    run: ({ target_group: t }) => {
      shape('target_group', t, { group_id: 'string' });
      group(t.group_id);
      return { permissions: state.groupPermissions.filter((p) => p.group_id === t.group_id) };
    },
  },
  add_permissions_group: {
    body: { target_group: 'object', target_permissions: 'array' },
    run: ({ target_group: t, target_permissions: ids }) => {
      shape('target_group', t, { group_id: 'string' });
      group(t.group_id);
      for (const id of ids) {
        const permission =
          state.permissions.find((p) => p.permission_id === id) ?? refuse(`no permission ${id}`);
        if (state.groupPermissions.some((p) => p.group_id === t.group_id && p.permission_id === id))
          refuse(`the group already has permission ${id}`);
        state.groupPermissions.push({
          group_permission_id: plain(dashed()),
          group_id: t.group_id,
          permission_id: id,
          permission_name: permission.friendly_name,
        });
      }
      return {};
    },
  },
  get_sso_mappings_group: {
    body: { group_id: 'string' },
    run: ({ group_id }) => {
      group(group_id);
      return { group_mappings: state.mappings.filter((m) => m.group_id === group_id) };
    },
  },
  add_sso_mapping_group: {
    body: { target_sso_mapping: 'object' },
    run: ({ target_sso_mapping: m }) => {
      shape('target_sso_mapping', m, {
        group_id: 'string',
        sso_id: 'string',
        sso_group_attributes: 'string',
        apply_to_all_users: 'boolean',
      });
      group(m.group_id);
      // The admin UI sends the provider's id without dashes.
      if (!/^[0-9a-f]{32}$/.test(m.sso_id)) refuse(`sso_id ${m.sso_id} is not an id`);
      const config = oidcById(m.sso_id);
      const created = {
        sso_group_id: plain(dashed()),
        group_id: m.group_id,
        oidc_id: config.oidc_id,
        sso_type: 'oidc',
        sso_name: config.display_name,
        sso_group_attributes: m.sso_group_attributes,
        apply_to_all_users: m.apply_to_all_users,
      };
      state.mappings.push(created);
      return { sso_mapping: created };
    },
  },
  update_sso_mapping_group: {
    body: { target_sso_mapping: 'object' },
    run: ({ target_sso_mapping: m }) => {
      shape('target_sso_mapping', m, {
        sso_group_id: 'string',
        sso_id: 'string',
        sso_type: 'string',
        sso_group_attributes: 'string',
        apply_to_all_users: 'boolean',
      });
      const mapping =
        state.mappings.find((x) => x.sso_group_id === m.sso_group_id) ?? refuse('no such mapping');
      if (m.sso_type !== 'oidc') refuse(`sso_type ${m.sso_type} is not oidc`);
      oidcById(m.sso_id);
      Object.assign(mapping, {
        sso_group_attributes: m.sso_group_attributes,
        apply_to_all_users: m.apply_to_all_users,
      });
      return { sso_mapping: mapping };
    },
  },
};

function handle(path, body) {
  if (path === 'authenticate') {
    shape('authenticate', body, { username: 'string', password: 'string' });
    if (body.username !== ADMIN || body.password !== adminPassword)
      return [200, { error_message: 'Invalid Username or Password' }];
    const token = plain(dashed());
    state.sessions.add(token);
    return [200, { token, user_id: plain(dashed()), username: ADMIN }];
  }
  const call = /^admin\/([a-z_]+)$/.exec(path)?.[1];
  const spec = call && ADMIN_CALLS[call];
  if (!spec) return [404, { error_message: `no API ${path}` }];
  if (typeof body.token !== 'string' || !state.sessions.has(body.token) || body.username !== ADMIN)
    return [403, { error_message: 'Unauthorized' }];
  const { token: _t, username: _u, ...rest } = body;
  shape(path, rest, spec.body);
  return [200, spec.run(rest)];
}

https
  .createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (req, res) => {
    const path = new URL(req.url, 'https://kasm').pathname.replace(/^\/api\//, '');
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      let status;
      let answer;
      let body;
      try {
        if (req.method !== 'POST') [status, answer] = [405, { error_message: 'POST only' }];
        else if (!/^application\/json/.test(req.headers['content-type'] ?? ''))
          [status, answer] = [415, { error_message: 'JSON only' }];
        else {
          body = JSON.parse(raw);
          [status, answer] = handle(path, body);
        }
      } catch (error) {
        if (!(error instanceof Refusal) && !(error instanceof SyntaxError)) throw error;
        [status, answer] = [200, { error_message: error.message }];
      }
      process.stdout.write(`${JSON.stringify({ call: path, body, status, answer })}\n`);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: true })}\n`));

let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk;
  for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    const { edit, ...fields } = JSON.parse(line);
    const groupId = state.groups.find((g) => g.name === fields.group)?.group_id;
    const target = edit === 'oidc' ? state.oidc[0] : state.mappings.find((m) => m.group_id === groupId);
    delete fields.group;
    Object.assign(target, fields);
    process.stdout.write(`${JSON.stringify({ edited: edit })}\n`);
  }
});
