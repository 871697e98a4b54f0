import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kasmOidcDocument, operatorKasmGroup } from '../src/deploy/kasm-oidc';
import { KASM_CA_FILE, KASM_PROXY_CERTIFICATE } from '../src/deploy/kasm-oidc-script';
import { kasmOidcScriptFor } from '../src/deploy/kasm-oidc-step';
import { createCertificateAuthority } from '../src/tls/certificates';
import { rawClients } from './helpers/deploy-fixture';
import { InstanceStandIn, type ScriptRun } from './helpers/instance-standin';
import { type MotoServer, startMoto } from './helpers/moto';
import { describeWithNetns, NetLab } from './helpers/netns';
import { repoRoot } from './helpers/paths';
import { makeTempDir } from './helpers/tmp';

const run = promisify(execFile);
const REGION = 'us-east-1';
const DEPLOYMENT = 'kasmoidc';
const ADMIN_PASSWORD = 'kasm-admin-standin-password-1';
const CLIENT_SECRET = 'kasm-client-secret-standin-0123456789abcdef';

/** The bundle certifi names in the kasm_api container stand-in. */
const CERTIFI_BUNDLE = '/var/lib/standin-docker/kasm_api/cacert.pem';
const occurrences = (text: string, part: string) => text.split(part).length - 1;

/** A self-signed certificate, as Kasm's installer makes for its proxy (made at run time). */
async function selfSignedCertificate(): Promise<{ certificate: string; key: string }> {
  const tmp = await makeTempDir('wavectl-kasm-proxy-');
  try {
    const [key, certificate] = [join(tmp.path, 'key.pem'), join(tmp.path, 'cert.pem')];
    await run('openssl', [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
      ...['-keyout', key, '-out', certificate, '-subj', '/CN=kasm-proxy'],
    ]);
    return { certificate: await readFile(certificate, 'utf8'), key: await readFile(key, 'utf8') };
  } finally {
    await tmp.remove();
  }
}

interface Call {
  call: string;
  body: Record<string, unknown>;
  status: number;
  answer: Record<string, unknown>;
}

/**
 * The script `deploy` sends the Kasm host (the same renderer), run in an Ubuntu instance stand-in as the SSM
 * agent runs it, against a strict stand-in of Kasm's admin API on the instance's loopback (behind a
 * self-signed proxy certificate at Kasm's path) and a Docker CLI stand-in for the kasm_api container. What
 * cannot run here is Kasm itself: whether Kasm 1.18 takes these calls as its 1.15-era admin UI made them.
 */
describeWithNetns('Kasm OpenID configuration, run on a Kasm host stand-in', () => {
  const lab = new NetLab('kasmoidc');
  let moto: MotoServer;
  let kasm: InstanceStandIn;
  let api: ChildProcess;
  let ca: string;
  let script: string;
  const calls: Call[] = [];
  const waiters: ((line: Record<string, unknown>) => boolean)[] = [];

  /** The calls the next run of the script makes. */
  const runScript = async (text = script): Promise<{ out: ScriptRun; calls: Call[] }> => {
    const from = calls.length;
    const out = await kasm.runCommand(text);
    return { out, calls: calls.slice(from) };
  };
  const names = (list: Call[]) => list.map((c) => c.call);
  /** The calls that change something or authenticate: every one but the `get_` reads. */
  const writes = (list: Call[]) => names(list).filter((n) => !/\/get_/.test(n));
  const send = (line: Record<string, unknown>) =>
    new Promise<void>((resolve) => {
      waiters.push((l) => {
        if (!('edited' in l)) return false;
        resolve();
        return true;
      });
      api.stdin!.write(`${JSON.stringify(line)}\n`);
    });
  const lastState = (call: string) => [...calls].reverse().find((c) => c.call === call)!.answer;

  beforeAll(async () => {
    moto = await startMoto();
    const { ssm } = rawClients(moto.endpoint, REGION);
    for (const [name, value] of [
      [`/waveshift/${DEPLOYMENT}/kasm/admin-password`, ADMIN_PASSWORD],
      [`/waveshift/${DEPLOYMENT}/kasm/oidc-client-secret`, CLIENT_SECRET],
    ] as const)
      await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString' }));
    ca = (await createCertificateAuthority(DEPLOYMENT, new Date())).certificatePem;
    script = kasmOidcScriptFor({ deployment: DEPLOYMENT, region: REGION }, ca);

    kasm = await InstanceStandIn.start(lab, 'kasm', 'ubuntu-22.04', moto.port);
    // What Kasm's installer leaves: its proxy's self-signed certificate and the kasm_api container.
    const proxy = await selfSignedCertificate();
    const certs = KASM_PROXY_CERTIFICATE.replace(/\/[^/]+$/, '');
    const place = await kasm.exec([
      'sh',
      '-c',
      `mkdir -p ${certs} /var/lib/standin-docker/kasm_api && printf '%s' "$1" > ${KASM_PROXY_CERTIFICATE} && printf '%s' "$2" > ${certs}/kasm_nginx.key && while p=$(command -v docker); do rm -f "$p"; done && install -m 755 "$3" /usr/bin/docker`,
      'sh',
      proxy.certificate,
      proxy.key,
      join(repoRoot, 'test/helpers/instance-standin/docker'),
    ]);
    if (place.code !== 0) throw new Error(`Kasm host setup failed: ${place.stderr}`);

    api = kasm.spawnNode(
      join(repoRoot, 'test/helpers/kasm-api-standin.cjs'),
      ['443', `${certs}/kasm_nginx.key`, KASM_PROXY_CERTIFICATE],
      { KASM_ADMIN_PASSWORD: ADMIN_PASSWORD },
    );
    let pending = '';
    api.stdout!.on('data', (chunk) => {
      pending += chunk;
      for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
        const line = JSON.parse(pending.slice(0, i)) as Record<string, unknown>;
        pending = pending.slice(i + 1);
        if ('call' in line) calls.push(line as unknown as Call);
        const waiter = waiters.findIndex((w) => w(line));
        if (waiter >= 0) waiters.splice(waiter, 1);
      }
    });
    await new Promise<void>((resolve, reject) => {
      waiters.push((l) => {
        if (!('listening' in l)) return false;
        resolve();
        return true;
      });
      api.once('exit', (code) => reject(new Error(`Kasm API stand-in exited ${code}`)));
    });
  }, 120_000);

  afterAll(async () => {
    api?.kill('SIGKILL');
    await lab.cleanup();
    await kasm?.stop();
    await moto?.stop();
  });

  const ok = (out: ScriptRun) => expect(out.code, `${out.stdout}\n${out.stderr}`).toBe(0);

  it('first run: trusts the CA, signs in, creates the OpenID configuration, the groups and their mappings', async () => {
    const { out, calls: made } = await runScript();
    ok(out);
    expect(names(made)).toEqual([
      'authenticate',
      'admin/get_oidc_configs',
      'admin/create_oidc_config',
      'admin/get_oidc_configs',
      'admin/get_groups',
      'admin/create_group',
      'admin/get_groups',
      'admin/get_permissions_group',
      'admin/get_permissions',
      'admin/add_permissions_group',
      'admin/get_sso_mappings_group',
      'admin/add_sso_mapping_group',
      'admin/create_group',
      'admin/get_groups',
      'admin/get_sso_mappings_group',
      'admin/add_sso_mapping_group',
    ]);
    // Signed in as Kasm's admin with the password from SSM; every later call carries that session.
    expect(made[0]!.body).toEqual({ username: 'admin@kasm.local', password: ADMIN_PASSWORD });
    const token = made[0]!.answer.token;
    for (const c of made.slice(1)) expect(c.body).toMatchObject({ token, username: 'admin@kasm.local' });

    // The configuration: the rendered document, with the client secret from SSM.
    const [config] = lastState('admin/get_oidc_configs').oidc_configs as Record<string, unknown>[];
    const { oidc } = kasmOidcDocument();
    expect(config).toMatchObject({
      ...oidc,
      scope: ['openid', 'profile', 'groups'],
      client_secret: CLIENT_SECRET,
      client_id: 'kasm',
      auth_url: 'https://waveshift.internal/auth/authorize',
      token_url: 'https://waveshift.internal/auth/token',
      user_info_url: 'https://waveshift.internal/auth/userinfo',
      redirect_url: 'https://kasm.internal/api/oidc_callback',
      groups_attribute: 'groups',
      username_attribute: 'preferred_username',
    });
    const oidcId = String(config!.oidc_id).replace(/-/g, '');

    // The groups, unique priorities, Global Admin for the admins, each mapped from its claim value.
    const groups = lastState('admin/get_groups').groups as {
      group_id: string;
      name: string;
      priority: number;
    }[];
    expect(groups.map((g) => g.name)).toEqual([
      'Administrators',
      'All Users',
      'waveshift-admins',
      'waveshift-users',
    ]);
    expect(new Set(groups.map((g) => g.priority)).size).toBe(4);
    const admins = groups.find((g) => g.name === 'waveshift-admins')!;
    const grant = made.find((c) => c.call === 'admin/add_permissions_group')!;
    expect(grant.body).toMatchObject({
      target_group: { group_id: admins.group_id },
      target_permissions: [100],
    });
    const mappings = made
      .filter((c) => c.call === 'admin/add_sso_mapping_group')
      .map((c) => c.body.target_sso_mapping);
    expect(mappings).toEqual([
      {
        group_id: admins.group_id,
        sso_id: oidcId,
        sso_group_attributes: 'waveshift-admins',
        apply_to_all_users: false,
      },
      {
        group_id: groups.find((g) => g.name === 'waveshift-users')!.group_id,
        sso_id: oidcId,
        sso_group_attributes: 'waveshift-users',
        apply_to_all_users: false,
      },
    ]);

    // The CA: in the host's store and, through the container, in the bundle Kasm's requests trusts.
    expect((await kasm.readFile(KASM_CA_FILE)).trim()).toBe(ca.trim());
    expect(await kasm.readFile('/etc/ssl/certs/ca-certificates.crt')).toContain(ca.trim());
    expect(occurrences(await kasm.readFile(CERTIFI_BUNDLE), ca.trim())).toBe(1);
    expect(await kasm.readFile('/var/log/standin/docker.calls')).toMatch(/^docker exec -i kasm_api sh -c /);
    expect(out.stdout).toContain('kasm-oidc: OpenID configuration "Sign in with Waveshift" created');

    // Neither secret was written anywhere on the host, nor printed.
    expect(await kasm.filesWrittenContaining(ADMIN_PASSWORD)).toEqual([]);
    expect(await kasm.filesWrittenContaining(CLIENT_SECRET)).toEqual([]);
    expect(`${out.stdout}${out.stderr}`).not.toContain(ADMIN_PASSWORD);
    expect(`${out.stdout}${out.stderr}`).not.toContain(CLIENT_SECRET);
  });

  it('second run: finds everything as wanted, changes nothing, adds the CA to no bundle twice', async () => {
    const { out, calls: made } = await runScript();
    ok(out);
    expect(writes(made)).toEqual(['authenticate']);
    expect(out.stdout).toContain('kasm-oidc: OpenID configuration unchanged');
    expect(out.stdout).toContain('kasm-oidc: group waveshift-admins unchanged');
    expect(out.stdout).toContain('kasm-oidc: group waveshift-users unchanged');
    expect(occurrences(await kasm.readFile(CERTIFI_BUNDLE), ca.trim())).toBe(1);
  });

  it('puts back what an operator changed by hand: the configuration’s fields and a group mapping', async () => {
    await send({ edit: 'oidc', enabled: false, scope: ['openid'], client_secret: 'typed-by-hand' });
    await send({ edit: 'mapping', group: 'waveshift-users', sso_group_attributes: 'everyone' });
    const { out, calls: made } = await runScript();
    ok(out);
    expect(writes(made)).toEqual([
      'authenticate',
      'admin/update_oidc_config',
      'admin/update_sso_mapping_group',
    ]);
    expect(out.stdout).toContain('kasm-oidc: OpenID configuration updated: client_secret, enabled, scope');
    expect(out.stdout).not.toContain('typed-by-hand');
    const update = made.find((c) => c.call === 'admin/update_oidc_config')!.body.target_oidc_config;
    expect(update).toMatchObject({
      enabled: true,
      scope: 'openid\nprofile\ngroups',
      client_secret: CLIENT_SECRET,
    });
    const mapping = made.find((c) => c.call === 'admin/update_sso_mapping_group')!.body.target_sso_mapping;
    expect(mapping).toMatchObject({ sso_type: 'oidc', sso_group_attributes: 'waveshift-users' });
    const again = await runScript();
    ok(again.out);
    expect(writes(again.calls)).toEqual(['authenticate']);
  });

  it('with an operator’s group added (`wavectl groups add`): creates it and its mapping, no permission, nothing else', async () => {
    const before = lastState('admin/get_groups').groups as { group_id: string; name: string }[];
    const withLab = kasmOidcScriptFor({ deployment: DEPLOYMENT, region: REGION }, ca, [
      operatorKasmGroup('Lab', 'the test lab'),
    ]);
    const { out, calls: made } = await runScript(withLab);
    ok(out);
    expect(writes(made)).toEqual(['authenticate', 'admin/create_group', 'admin/add_sso_mapping_group']);
    expect(out.stdout).toContain('kasm-oidc: OpenID configuration unchanged');
    expect(out.stdout).toContain('kasm-oidc: group waveshift-admins unchanged');
    expect(out.stdout).toContain('kasm-oidc: group waveshift-users unchanged');
    expect(out.stdout).toContain('kasm-oidc: group Lab created');
    expect(out.stdout).toContain('kasm-oidc: group Lab mapped from OpenID group Lab');
    const groups = lastState('admin/get_groups').groups as { group_id: string; name: string }[];
    expect(groups.slice(0, before.length)).toEqual(before);
    const lab = groups.find((g) => g.name === 'Lab')!;
    expect(made.find((c) => c.call === 'admin/create_group')!.body.target_group).toMatchObject({
      name: 'Lab',
      description: 'Waveshift group Lab (OpenID groups claim Lab): the test lab',
    });
    const [config] = lastState('admin/get_oidc_configs').oidc_configs as Record<string, unknown>[];
    expect(made.find((c) => c.call === 'admin/add_sso_mapping_group')!.body.target_sso_mapping).toEqual({
      group_id: lab.group_id,
      sso_id: String(config!.oidc_id).replace(/-/g, ''),
      sso_group_attributes: 'Lab',
      apply_to_all_users: false,
    });
    // Deploy's script afterwards finds its own part as it was and leaves the operator's group alone.
    const again = await runScript();
    ok(again.out);
    expect(writes(again.calls)).toEqual(['authenticate']);
    expect(again.out.stdout).not.toContain('group Lab');
    expect((lastState('admin/get_groups').groups as { name: string }[]).map((g) => g.name)).toContain('Lab');
  });

  it('fails with one clear line when Kasm refuses the admin password from SSM, and changes nothing', async () => {
    const { ssm } = rawClients(moto.endpoint, REGION);
    const name = `/waveshift/${DEPLOYMENT}/kasm/admin-password`;
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: 'not-kasms', Type: 'SecureString', Overwrite: true }),
    );
    try {
      const { out, calls: made } = await runScript();
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n').at(-1)).toBe(
        "kasm-oidc: Kasm refused the sign-in of admin@kasm.local (Invalid Username or Password): is the password in SSM still Kasm's?",
      );
      expect(names(made)).toEqual(['authenticate']);
    } finally {
      await ssm.send(
        new PutParameterCommand({ Name: name, Value: ADMIN_PASSWORD, Type: 'SecureString', Overwrite: true }),
      );
    }
  });

  it('sends the password to nothing but Kasm’s own proxy: another certificate on 127.0.0.1:443 is refused at once', async () => {
    const saved = await kasm.readFile(KASM_PROXY_CERTIFICATE);
    const pin = (pem: string) =>
      kasm.exec(['sh', '-c', `printf '%s' "$1" > ${KASM_PROXY_CERTIFICATE}`, 'sh', pem]);
    await pin((await selfSignedCertificate()).certificate);
    try {
      const { out, calls: made } = await runScript();
      expect(out.code).toBe(1);
      expect(out.stderr.trim().split('\n').at(-1)).toMatch(
        /^kasm-oidc: Kasm API unreachable: .*certificate verify failed/,
      );
      expect(made).toEqual([]);
    } finally {
      await pin(saved);
    }
  });

  it('has a Kasm API stand-in no more lenient than the script needs: no session, unknown call or field passes', async () => {
    const post = async (path: string, body: unknown) => {
      const out = await kasm.exec([
        ...['curl', '-sk', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', `https://127.0.0.1/api/${path}`],
        ...['-H', 'Content-Type: application/json', '-d', JSON.stringify(body)],
      ]);
      const [answer, status] = out.stdout.split('\n');
      return { status: Number(status), answer: JSON.parse(answer!) as Record<string, unknown> };
    };
    expect((await post('admin/get_groups', {})).status).toBe(403);
    expect((await post('admin/get_groups', { token: 'forged', username: 'admin@kasm.local' })).status).toBe(
      403,
    );
    const session = (await post('authenticate', { username: 'admin@kasm.local', password: ADMIN_PASSWORD }))
      .answer;
    const auth = { token: session.token, username: 'admin@kasm.local' };
    expect((await post('admin/get_everything', auth)).status).toBe(404);
    expect((await post('admin/get_groups', { ...auth, page: 1 })).answer.error_message).toBe(
      'admin/get_groups: unknown field page',
    );
    const { oidc } = kasmOidcDocument();
    const typo = { ...oidc, client_secret: 'x', user_info: 'https://waveshift.internal/auth/userinfo' };
    expect(
      (await post('admin/create_oidc_config', { ...auth, target_oidc_config: typo })).answer.error_message,
    ).toBe('target_oidc_config: unknown field user_info');
    const scopeList = { ...oidc, client_secret: 'x', scope: ['openid'] };
    expect(
      (await post('admin/create_oidc_config', { ...auth, target_oidc_config: scopeList })).answer
        .error_message,
    ).toBe('target_oidc_config: scope must be string');
  });

  it('fails before touching Kasm where Kasm is not installed', async () => {
    const bare = await InstanceStandIn.start(lab, 'bare', 'ubuntu-22.04', moto.port);
    try {
      const out = await bare.runCommand(script);
      expect(out.code).toBe(1);
      expect(out.stderr.trim()).toBe(
        'kasm-oidc: Kasm Workspaces is not installed here (no /opt/kasm/current)',
      );
    } finally {
      await bare.stop();
    }
  });
});
