/**
 * The database schema as versioned migrations, embedded as strings so that the single-file bundle deployed
 * to EC2 carries them (no migrations directory to ship). Append only: never edit a released migration; the
 * runner refuses to start when a recorded migration's checksum differs from the one here.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
create table users (
  id bigint generated always as identity primary key,
  username text not null,
  display_name text,
  role text not null default 'user' check (role in ('admin', 'user')),
  password_hash text not null,
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_username_key on users (lower(username));

create table sessions (
  token_hash text primary key,
  user_id bigint not null references users (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  last_used_at timestamptz not null default now()
);
create index sessions_user_id_idx on sessions (user_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table access_servers (
  index smallint primary key check (index between 0 and 63),
  public_key text not null,
  endpoint text,
  tunnel_address inet not null,
  instance_id text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- access_server is not a foreign key on purpose: wavectl may register sites before their access server,
-- and DELETE of an access server answers 409 while sites still point at it.
create table sites (
  number smallint primary key check (number between 0 and 255),
  name text not null,
  cidr cidr not null,
  public_key text not null,
  access_server integer not null check (access_server >= 0),
  last_report_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (cidr = ('10.8.' || number || '.0/24')::cidr)
);

-- Scoped API keys, stored as SHA-256 hashes. Today only scanner keys (one per site); the deployment key
-- comes from the controller's environment and is never stored.
create table api_keys (
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('scanner')),
  site smallint references sites (number) on delete cascade,
  key_hash text not null unique check (key_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  unique (kind, site)
);

-- device_key identifies a device within its site: its MAC, or 'ip:<address>' while no MAC is known.
create table devices (
  id bigint generated always as identity primary key,
  site smallint not null references sites (number) on delete cascade,
  device_key text not null,
  ip inet not null,
  mac macaddr,
  hostname text,
  vendor text,
  online boolean not null default true,
  missed_scans integer not null default 0,
  first_seen timestamptz not null,
  last_seen timestamptz not null,
  unique (site, device_key)
);
create index devices_site_online_idx on devices (site, online);

-- One row per processed scanner report: resending a report (same scannedAt) changes nothing.
create table scan_reports (
  site smallint not null references sites (number) on delete cascade,
  scanned_at timestamptz not null,
  received_at timestamptz not null default now(),
  received integer not null,
  created integer not null,
  updated integer not null,
  marked_offline integer not null,
  stale boolean not null,
  primary key (site, scanned_at)
);

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target text not null,
  detail jsonb,
  request_id text
);
create index audit_log_at_idx on audit_log (at);
`,
  },
  {
    version: 2,
    name: 'device paging, moves between sites, per-site presence, device events',
    sql: `
-- NULL: the controller's default (--offline-after, WAVESHIFT_OFFLINE_AFTER_MISSED_SCANS).
alter table sites add column offline_after_missed_scans smallint
  check (offline_after_missed_scans between 1 and 1000);

-- A device seen on another site than its row's moves there; the row keeps the site it came from.
alter table devices add column previous_site smallint, add column moved_at timestamptz;
-- Keyset paging of GET /api/devices runs in (site, ip, id) order.
create index devices_page_idx on devices (site, ip, id);
create index devices_first_seen_idx on devices (first_seen);
create index devices_device_key_idx on devices (device_key);

-- What wavectl devices watch streams: new, missing, returning and moved devices, written by the triggers
-- below in the transaction that changed the device, and announced with NOTIFY once per statement.
-- device_id is no foreign key: the events of a removed site's devices stay readable.
create table device_events (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  kind text not null check (kind in ('new', 'missing', 'returning', 'moved')),
  device_id bigint not null,
  site smallint not null,
  previous_site smallint,
  ip inet not null,
  mac macaddr,
  hostname text,
  vendor text
);
create index device_events_at_idx on device_events (at);

create function device_events_after_insert() returns trigger language plpgsql as $body$
begin
  insert into device_events (kind, device_id, site, ip, mac, hostname, vendor)
    select 'new', id, site, ip, mac, hostname, vendor from inserted_devices;
  if found then perform pg_notify('waveshift_device_events', ''); end if;
  return null;
end
$body$;

-- Transition tables carry no statistics: left to itself the planner joins them with a nested loop, which is
-- quadratic (a 65,024-row statement took minutes). The join is on the primary key: hash it.
create function device_events_after_update() returns trigger language plpgsql
  set enable_nestloop = off as $body$
begin
  insert into device_events (kind, device_id, site, previous_site, ip, mac, hostname, vendor)
    select case when n.site <> o.site then 'moved'
                when o.online and not n.online then 'missing'
                else 'returning' end,
           n.id, n.site, case when n.site <> o.site then o.site end, n.ip, n.mac, n.hostname, n.vendor
    from old_devices o join new_devices n on n.id = o.id
    where n.site <> o.site or n.online <> o.online;
  if found then perform pg_notify('waveshift_device_events', ''); end if;
  return null;
end
$body$;

create trigger devices_events_insert after insert on devices
  referencing new table as inserted_devices
  for each statement execute function device_events_after_insert();
create trigger devices_events_update after update on devices
  referencing old table as old_devices new table as new_devices
  for each statement execute function device_events_after_update();
`,
  },
  {
    version: 3,
    name: 'OpenID Connect provider state',
    sql: `
-- Everything oidc-provider persists (sessions, interactions, grants, codes, tokens), one row per object.
-- account_id lets a user's disabling end their sessions and refresh tokens in one statement.
create table oidc_payloads (
  kind text not null,
  id text not null,
  payload jsonb not null,
  grant_id text,
  uid text,
  user_code text,
  account_id text,
  expires_at timestamptz,
  primary key (kind, id)
);
create index oidc_payloads_grant_id_idx on oidc_payloads (grant_id);
create index oidc_payloads_uid_idx on oidc_payloads (uid);
create index oidc_payloads_account_id_idx on oidc_payloads (account_id);
create index oidc_payloads_expires_at_idx on oidc_payloads (expires_at);

-- The provider's signing keys (private JWKs) and cookie keys, made on first start; one row.
create table oidc_keys (
  id smallint primary key check (id = 1),
  jwks jsonb not null,
  cookie_keys jsonb not null,
  created_at timestamptz not null default now()
);
`,
  },
  {
    version: 4,
    name: 'groups',
    sql: `
-- Waveshift groups travel in the groups claim to Kasm, which maps them to its own groups. The two built-in
-- groups follow the role and are no rows: waveshift-users (everyone) and waveshift-admins (admins).
create table groups (
  id bigint generated always as identity primary key,
  name text not null,
  description text,
  created_at timestamptz not null default now()
);
create unique index groups_name_key on groups (lower(name));

-- source 'local': an operator added the member. 'upstream': the upstream identity provider granted it at
-- sign-in; those rows are replaced at every sign-in, so a group taken away upstream is taken away here too.
create table group_members (
  group_id bigint not null references groups (id) on delete cascade,
  user_id bigint not null references users (id) on delete cascade,
  source text not null default 'local' check (source in ('local', 'upstream')),
  added_at timestamptz not null default now(),
  primary key (group_id, user_id)
);
create index group_members_user_id_idx on group_members (user_id);
`,
  },
  {
    version: 5,
    name: 'TOTP for local users',
    sql: `
-- A user's TOTP secret (base32, RFC 6238), null when TOTP is off. It is a shared key, so it is kept as it
-- is, like the provider's signing keys: whoever reads this table could sign in anyway.
-- totp_last_step: the last time step a code was accepted for; a code of that step or an earlier one is a
-- replay and refused.
alter table users add column totp_secret text, add column totp_last_step bigint;

-- A sign-in whose password was right and whose TOTP code is still to come, bound to the provider's
-- interaction (whose cookie only the browser that typed the password holds).
create table oidc_pending_second_factor (
  interaction_uid text primary key,
  user_id bigint not null references users (id) on delete cascade,
  expires_at timestamptz not null
);
`,
  },
  {
    version: 6,
    name: 'users from an upstream identity provider',
    sql: `
-- A user the upstream OpenID provider vouches for is found again by (issuer, subject), never by name: the
-- upstream may rename them, and a local user of the same name must not be taken over. Such users have no
-- password here: password_hash holds a marker that no password verifies against.
alter table users add column upstream_issuer text, add column upstream_subject text;
alter table users add constraint users_upstream_identity_check
  check ((upstream_issuer is null) = (upstream_subject is null));
create unique index users_upstream_identity_key on users (upstream_issuer, upstream_subject)
  where upstream_issuer is not null;
`,
  },
  {
    version: 7,
    name: 'device events of updates only on a change of site or presence; the MAC steps of a report in one call',
    sql: `
-- The statement trigger of migration 2 copied every updated row into two transition tables and joined them,
-- although a scan's update almost never changes a device's site or presence: each report paid that for its
-- 254 rows. A row trigger with WHEN is evaluated in C per row and queues nothing unless something the events
-- describe changed. NOTIFY with the same channel and payload is sent once per transaction however often it is
-- called.
drop trigger devices_events_update on devices;
drop function device_events_after_update();

create function device_event_after_update() returns trigger language plpgsql as $body$
begin
  insert into device_events (kind, device_id, site, previous_site, ip, mac, hostname, vendor)
    values (case when new.site <> old.site then 'moved'
                 when old.online and not new.online then 'missing'
                 else 'returning' end,
            new.id, new.site, case when new.site <> old.site then old.site end,
            new.ip, new.mac, new.hostname, new.vendor);
  perform pg_notify('waveshift_device_events', '');
  return null;
end
$body$;

create trigger devices_event_update after update of site, online on devices
  for each row when (new.site <> old.site or new.online <> old.online)
  execute function device_event_after_update();

-- The identity steps of a report's devices that have a MAC, before its upsert; each statement sees what the
-- previous one did. Run in one call: one round trip instead of two.
-- 1. A device first seen without its MAC (scanned without privileges) and now seen with one is the same
--    device: its row takes the MAC as identity instead of a second row being created.
-- 2. A MAC is one device across the region. Seen here no earlier than its last sighting on another site,
--    its row moves here and remembers where it was; seen here earlier than that, this sighting is old news:
--    the function returns those MACs and the upsert leaves them out, so the device never has two rows.
-- Looked up by device_key: without statistics (a new database's first scans, before autovacuum's first
-- ANALYZE) the planner expects the lookup to match many rows and reads the whole table for every report
-- instead, quadratic over a first region's ingest; a function is where a statement can carry its own
-- planner setting.
create function devices_take_macs(here smallint, seen_at timestamptz, macs text[], ips text[])
  returns text[] language plpgsql set enable_seqscan = off as $body$
declare
  elsewhere text[];
begin
  -- One report at a time per MAC, region-wide, until commit: two sites reporting the same MAC at once would
  -- each find no row of the other's (not yet committed) and keep one each, for good. Taken in one order
  -- (sorted), so two reports never wait on each other's MACs; the statements below start after the wait and
  -- see what the other report committed. The two-key form keeps these apart from every other advisory lock.
  perform pg_advisory_xact_lock(x'4d4143'::int, hashtext(m))
    from (select distinct unnest(macs) as m order by 1) ordered;

  update devices d set device_key = r.mac, mac = r.mac::macaddr
  from unnest(macs, ips) as r(mac, ip)
  where d.site = here and d.device_key = 'ip:' || r.ip
    and not exists (select 1 from devices e where e.site = here and e.device_key = r.mac);

  with found as (
    select id, device_key from devices where device_key = any(macs) and site <> here
  ), moved as (
    update devices d set site = here, previous_site = d.site, moved_at = seen_at, ip = r.ip::inet,
                         online = true, missed_scans = 0
    from found f join unnest(macs, ips) as r(mac, ip) on r.mac = f.device_key
    where d.id = f.id and d.site <> here and d.last_seen <= seen_at
      and not exists (select 1 from devices e where e.site = here and e.device_key = r.mac)
    returning d.id
  )
  select array_agg(f.device_key) into elsewhere from found f where f.id not in (select id from moved);
  return coalesce(elsewhere, '{}');
end
$body$;
`,
  },
];
