import { createHash } from 'node:crypto';
import type { KasmOidcDocument } from './kasm-oidc';
import { shellQuote, UBUNTU_AWS_CLI } from './service-scripts';

export interface KasmOidcScriptInputs {
  region: string;
  /** SecureString names: read on the Kasm host with its role, never carried in the command. */
  adminPasswordParameter: string;
  clientSecretParameter: string;
  /** The deployment CA (PEM), which signed the controller's certificate: Kasm's calls to it must trust it. */
  caCertificatePem: string;
  document: KasmOidcDocument;
}

/** Where the CA lands, on the host and in the kasm_api container (Debian's and Ubuntu's local anchors). */
export const KASM_CA_FILE = '/usr/local/share/ca-certificates/waveshift-deployment-ca.crt';
/** The certificate Kasm's installer made for its nginx proxy: the script pins its calls to 127.0.0.1 to it. */
export const KASM_PROXY_CERTIFICATE = '/opt/kasm/current/certs/kasm_nginx.crt';
/** Kasm's API container in a single-server install (kasmweb/api, Python 3.12 with requests). */
export const KASM_API_CONTAINER = 'kasm_api';

/**
 * Run inside the kasm_api container with the CA on stdin. Kasm's OpenID client calls the token and userinfo
 * endpoints with Python requests, which trusts certifi's bundle, not the system store; Kasm 1.18 offers no
 * setting for a private CA (kasmtech/workspaces-issues #834, #844), so the CA joins both. Once: a second
 * run finds its first base64 line there.
 */
const CONTAINER_TRUST_SCRIPT = [
  'set -eu',
  `mkdir -p ${KASM_CA_FILE.replace(/\/[^/]+$/, '')}`,
  `cat > ${KASM_CA_FILE}`,
  'update-ca-certificates >/dev/null',
  `bundle=$(python3 -c 'import certifi; print(certifi.where())')`,
  `if ! grep -qxF "$(sed -n 2p ${KASM_CA_FILE})" "$bundle"; then cat ${KASM_CA_FILE} >> "$bundle"; fi`,
].join('\n');

/**
 * The program that talks to Kasm's admin API on the host (Python 3, which Ubuntu ships: Kasm's host has no
 * jq). Endpoints and fields are those Kasm's own admin UI posts: POST /api/authenticate, then
 * /api/admin/<call> with the session's `token` and `username` in every body, an `error_message` in a 200
 * answer meaning refusal. Secrets arrive on stdin (admin password, then client secret), never in argv.
 */
const APPLY_PROGRAM = String.raw`import json
import ssl
import sys
import time
import urllib.error
import urllib.request

API = 'https://127.0.0.1/api/'
PROXY_CERTIFICATE = '${KASM_PROXY_CERTIFICATE}'


def fail(message):
    print('kasm-oidc: ' + message, file=sys.stderr)
    sys.exit(1)


def report(message):
    print('kasm-oidc: ' + message, flush=True)


class Kasm:
    def __init__(self):
        # Kasm's proxy serves a self-signed certificate: trusted as itself, whatever name it carries.
        self.context = ssl.create_default_context(cafile=PROXY_CERTIFICATE)
        self.context.check_hostname = False
        self.session = {}

    def post(self, path, body):
        request = urllib.request.Request(
            API + path,
            data=json.dumps(dict(body, **self.session)).encode(),
            headers={'Content-Type': 'application/json', 'Accept': 'application/json'},
            method='POST',
        )
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.load(response)

    def call(self, path, body):
        try:
            answer = self.post(path, body)
        except urllib.error.HTTPError as error:
            fail('Kasm API %s answered HTTP %d' % (path, error.code))
        except (urllib.error.URLError, OSError) as error:
            fail('Kasm API %s unreachable: %s' % (path, getattr(error, 'reason', error)))
        except ValueError:
            fail('Kasm API %s answered no JSON' % path)
        if not isinstance(answer, dict):
            fail('Kasm API %s answered no JSON object' % path)
        if answer.get('error_message'):
            fail('Kasm API %s refused: %s' % (path, answer['error_message']))
        return answer

    def sign_in(self, username, password):
        # Right after its install Kasm's services take a while to answer: wait up to five minutes.
        for attempt in range(60):
            try:
                answer = self.post('authenticate', {'username': username, 'password': password})
                break
            except urllib.error.HTTPError as error:
                if error.code not in (502, 503, 504) or attempt == 59:
                    fail('Kasm sign-in as %s answered HTTP %d' % (username, error.code))
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, 'reason', error)
                # A certificate other than Kasm's own is no passing state: never send it the password.
                if isinstance(reason, ssl.SSLError) or attempt == 59:
                    fail('Kasm API unreachable: %s' % reason)
            time.sleep(5)
        if answer.get('error_message') or not answer.get('token'):
            fail('Kasm refused the sign-in of %s (%s): is the password in SSM still Kasm\'s?'
                 % (username, answer.get('error_message') or 'no session token'))
        self.session = {'token': answer['token'], 'username': username}


def plain_id(value):
    return str(value or '').replace('-', '')


def same(field, have, want):
    if field == 'scope':
        listed = have if isinstance(have, list) else str(have or '').split('\n')
        return [s.strip() for s in listed if s.strip()] == want.split('\n')
    return have == want


def ensure_oidc(kasm, want):
    def ours():
        configs = kasm.call('admin/get_oidc_configs', {}).get('oidc_configs') or []
        return [c for c in configs
                if c.get('client_id') == want['client_id'] and c.get('hostname') == want['hostname']]

    found = ours()
    if not found:
        kasm.call('admin/create_oidc_config', {'target_oidc_config': want})
        found = ours()
        if not found:
            fail('Kasm did not keep the OpenID configuration it accepted')
        report('OpenID configuration "%s" created' % want['display_name'])
        return plain_id(found[0].get('oidc_id'))
    current = found[0]
    differing = sorted(f for f in want if not same(f, current.get(f), want[f]))
    if differing:
        kasm.call('admin/update_oidc_config',
                  {'target_oidc_config': dict(want, oidc_id=current.get('oidc_id'))})
        report('OpenID configuration updated: ' + ', '.join(differing))
    else:
        report('OpenID configuration unchanged')
    return plain_id(current.get('oidc_id'))


def ensure_group(kasm, group, oidc_id, groups, catalogue):
    name = group['name']
    current = next((g for g in groups if g.get('name') == name), None)
    if current is None:
        used = set(g.get('priority') for g in groups)
        # Kasm wants each group's priority unique; All Users and Administrators hold theirs.
        priority = next(p for p in range(10, 10000) if p not in used)
        kasm.call('admin/create_group', {'target_group': {
            'name': name, 'description': group['description'], 'priority': priority}})
        groups[:] = kasm.call('admin/get_groups', {}).get('groups') or []
        current = next((g for g in groups if g.get('name') == name), None)
        if current is None:
            fail('Kasm did not keep the group %s it accepted' % name)
        report('group %s created' % name)
    target = {'group_id': current['group_id']}

    if group['permissions']:
        held = kasm.call('admin/get_permissions_group', {'target_group': target}).get('permissions') or []
        held_ids = set(p.get('permission_id') for p in held)
        missing = []
        for wanted in group['permissions']:
            match = next((p for p in catalogue() if p.get('friendly_name') == wanted), None)
            if match is None:
                fail('Kasm has no permission named %s' % wanted)
            if match['permission_id'] not in held_ids:
                missing.append(match['permission_id'])
        if missing:
            kasm.call('admin/add_permissions_group', {'target_group': target, 'target_permissions': missing})
            report('group %s granted %s' % (name, ', '.join(group['permissions'])))

    attribute = group['ssoGroupAttribute']
    mappings = kasm.call('admin/get_sso_mappings_group', {'group_id': current['group_id']})
    mine = [m for m in mappings.get('group_mappings') or [] if plain_id(m.get('oidc_id')) == oidc_id]
    if not mine:
        kasm.call('admin/add_sso_mapping_group', {'target_sso_mapping': {
            'group_id': current['group_id'], 'sso_id': oidc_id,
            'sso_group_attributes': attribute, 'apply_to_all_users': False}})
        report('group %s mapped from OpenID group %s' % (name, attribute))
    elif mine[0].get('sso_group_attributes') != attribute or mine[0].get('apply_to_all_users'):
        kasm.call('admin/update_sso_mapping_group', {'target_sso_mapping': {
            'sso_group_id': mine[0]['sso_group_id'], 'sso_id': oidc_id, 'sso_type': 'oidc',
            'sso_group_attributes': attribute, 'apply_to_all_users': False}})
        report('group %s mapping set to OpenID group %s' % (name, attribute))
    else:
        report('group %s unchanged' % name)


def main():
    with open(sys.argv[1]) as handle:
        document = json.load(handle)
    admin_password = sys.stdin.readline().rstrip('\n')
    client_secret = sys.stdin.readline().rstrip('\n')
    if not admin_password or not client_secret:
        fail('the admin password or the client secret read from SSM is empty')
    kasm = Kasm()
    kasm.sign_in(document['adminUsername'], admin_password)
    oidc_id = ensure_oidc(kasm, dict(document['oidc'], client_secret=client_secret))
    groups = kasm.call('admin/get_groups', {}).get('groups') or []
    permissions = []

    def catalogue():
        if not permissions:
            permissions.extend(kasm.call('admin/get_permissions', {}).get('permissions') or [])
        return permissions

    for group in document['groups']:
        ensure_group(kasm, group, oidc_id, groups, catalogue)


main()
`;

/** A here-document body must not contain its own end marker on a line. */
function hereDocument(marker: string, body: string): string {
  if (body.split('\n').includes(marker)) throw new Error(`here-document body contains ${marker}`);
  return `<<'${marker}'\n${body.replace(/\n$/, '')}\n${marker}`;
}

/**
 * Pure: the Run Command script (bash, named by its first line: the SSM agent runs `sh -c <file>` and sh is
 * dash on Ubuntu) that makes Kasm trust the deployment CA and hold Waveshift's OpenID configuration and
 * groups. It carries the CA (public), the configuration without its secret, and the names of the two
 * SecureStrings, which the host reads with its role and hands the program on stdin. Idempotent: a second
 * run signs in, finds everything as wanted and says so.
 */
export function kasmOidcScript(p: KasmOidcScriptInputs): string {
  const secret = (name: string) =>
    `aws ssm get-parameter --region ${shellQuote(p.region)} --name ${shellQuote(name)} --with-decryption --query Parameter.Value --output text`;
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'umask 022',
    'if [ ! -d /opt/kasm/current ]; then echo "kasm-oidc: Kasm Workspaces is not installed here (no /opt/kasm/current)" >&2; exit 1; fi',
    'export DEBIAN_FRONTEND=noninteractive',
    UBUNTU_AWS_CLI,
    'work=$(mktemp -d)',
    'trap \'rm -rf "$work"\' EXIT',
    `cat > "$work/ca.pem" ${hereDocument('WAVESHIFT_CA', p.caCertificatePem)}`,
    `install -D -m 0644 "$work/ca.pem" ${KASM_CA_FILE}`,
    'update-ca-certificates >/dev/null',
    `docker exec -i ${KASM_API_CONTAINER} sh -c ${shellQuote(CONTAINER_TRUST_SCRIPT)} < "$work/ca.pem"`,
    'echo "kasm-oidc: the deployment CA is trusted by the host and by Kasm\'s API"',
    `cat > "$work/config.json" ${hereDocument('WAVESHIFT_CONFIG', JSON.stringify(p.document, null, 2))}`,
    `cat > "$work/apply.py" ${hereDocument('WAVESHIFT_PROGRAM', APPLY_PROGRAM)}`,
    `admin_password=$(${secret(p.adminPasswordParameter)})`,
    `client_secret=$(${secret(p.clientSecretParameter)})`,
    'printf \'%s\\n%s\\n\' "$admin_password" "$client_secret" | python3 "$work/apply.py" "$work/config.json"',
  ].join('\n');
}

/** Pure: what the configuration is, as recorded on the Kasm instance once applied (a re-deploy skips it). */
export const kasmOidcFingerprint = (script: string): string =>
  `kasm-oidc-${createHash('sha256').update(script).digest('hex').slice(0, 16)}`;
