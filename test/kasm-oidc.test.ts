import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { oidcEnv } from '../src/controller/config';
import { groupsOf } from '../src/controller/oidc/claims';
import { OIDC_ROUTES } from '../src/controller/oidc/provider';
import { BUILT_IN_GROUPS } from '../src/controller/repositories/groups';
import { KASM_OIDC_CLIENT, kasmOidcDocument, OIDC_ISSUER, operatorKasmGroup } from '../src/deploy/kasm-oidc';
import {
  KASM_API_CONTAINER,
  KASM_CA_FILE,
  kasmOidcFingerprint,
  kasmOidcScript,
} from '../src/deploy/kasm-oidc-script';
import {
  KASM_OIDC_SERVICE,
  kasmOidcScriptFor,
  plannedKasmOidcFingerprint,
} from '../src/deploy/kasm-oidc-step';
import { matches, type PlanInput, planStep } from '../src/deploy/plan';
import { groupLines, kasmTarget } from '../src/groups/kasm-group';

const CA = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTEST\n-----END CERTIFICATE-----\n';
const scope = { deployment: 'acme', region: 'eu-west-1' };

/** The here-documents of a rendered script, by their end marker. */
function hereDocuments(script: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of script.matchAll(/<<'([A-Z_]+)'\n([\s\S]*?)\n\1$/gm)) found[m[1]!] = m[2]!;
  return found;
}

describe('the OpenID configuration deploy gives Kasm', () => {
  const document = kasmOidcDocument();

  it('is the client the controller registers: id, redirect URI, endpoints under its issuer', () => {
    const registered = oidcEnv({
      WAVESHIFT_OIDC_ISSUER: OIDC_ISSUER,
      WAVESHIFT_KASM_CLIENT_SECRET: 'x'.repeat(43),
    })!;
    expect(registered.issuer).toBe('https://waveshift.internal/auth');
    const [client] = registered.clients;
    expect(document.oidc.client_id).toBe(client!.clientId);
    expect([document.oidc.redirect_url]).toEqual(client!.redirectUris);
    expect(document.oidc.redirect_url).toBe('https://kasm.internal/api/oidc_callback');
    expect(KASM_OIDC_CLIENT.routes.authorization).toBe(OIDC_ROUTES.authorization);
    expect(KASM_OIDC_CLIENT.routes.token).toBe(OIDC_ROUTES.token);
    expect(KASM_OIDC_CLIENT.routes.userinfo).toBe(OIDC_ROUTES.userinfo);
    expect(document.oidc).toMatchObject({
      auth_url: 'https://waveshift.internal/auth/authorize',
      token_url: 'https://waveshift.internal/auth/token',
      user_info_url: 'https://waveshift.internal/auth/userinfo',
    });
  });

  it('asks for the scopes whose claims carry the username and the groups, and reads them from there', () => {
    expect(document.oidc.scope.split('\n')).toEqual(['openid', 'profile', 'groups']);
    expect(document.oidc.username_attribute).toBe('preferred_username');
    expect(document.oidc.groups_attribute).toBe('groups');
  });

  it('is the login page’s default, for kasm.internal, sending visitors to Waveshift, without debug', () => {
    expect(document.oidc).toMatchObject({
      display_name: 'Sign in with Waveshift',
      enabled: true,
      auto_login: true,
      is_default: true,
      hostname: 'kasm.internal',
      debug: false,
    });
    expect(document.adminUsername).toBe('admin@kasm.local');
  });

  it('holds no secret: the client secret is read on the Kasm host', () => {
    expect(Object.keys(document.oidc)).not.toContain('client_secret');
  });

  it('maps each built-in value of the groups claim to a Kasm group; admins get Global Admin', () => {
    const issued = new Set([...groupsOf({ role: 'admin' }), ...groupsOf({ role: 'user' })]);
    expect(new Set(document.groups.map((g) => g.ssoGroupAttribute))).toEqual(issued);
    expect(new Set(document.groups.map((g) => g.ssoGroupAttribute))).toEqual(new Set(BUILT_IN_GROUPS));
    expect(document.groups.map((g) => [g.name, g.ssoGroupAttribute, g.permissions])).toEqual([
      ['waveshift-admins', 'waveshift-admins', ['Global Admin']],
      ['waveshift-users', 'waveshift-users', []],
    ]);
  });

  it('follows another issuer or Kasm host name', () => {
    const other = kasmOidcDocument('https://idp.example/oidc', 'desk.example');
    expect(other.oidc.auth_url).toBe('https://idp.example/oidc/authorize');
    expect(other.oidc.redirect_url).toBe('https://desk.example/api/oidc_callback');
    expect(other.oidc.hostname).toBe('desk.example');
  });
});

describe('the script that applies it on the Kasm host', () => {
  const script = kasmOidcScriptFor(scope, CA);
  const docs = hereDocuments(script);

  it('is bash that shellcheck accepts, and its program is Python that compiles', () => {
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    const check = spawnSync('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], {
      input: script,
      encoding: 'utf8',
    });
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
    const compiled = spawnSync(
      'python3',
      ['-c', 'import sys; compile(sys.stdin.read(), "apply.py", "exec")'],
      { input: docs.WAVESHIFT_PROGRAM, encoding: 'utf8' },
    );
    expect(compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
  });

  it('carries the deployment CA and trusts it on the host and in the kasm_api container', () => {
    expect(`${docs.WAVESHIFT_CA}\n`).toBe(CA);
    expect(script).toContain(`install -D -m 0644 "$work/ca.pem" ${KASM_CA_FILE}`);
    expect(script).toMatch(/^update-ca-certificates >\/dev\/null$/m);
    expect(script).toMatch(
      new RegExp(`^docker exec -i ${KASM_API_CONTAINER} sh -c '.*certifi.*' < "\\$work/ca.pem"$`, 'ms'),
    );
  });

  it('carries the configuration document as rendered, without a secret', () => {
    expect(JSON.parse(docs.WAVESHIFT_CONFIG!)).toEqual(kasmOidcDocument());
  });

  it('reads both secrets from SSM on the host and hands them to the program on stdin, never in argv', () => {
    expect(script).toContain(
      "admin_password=$(aws ssm get-parameter --region 'eu-west-1' --name '/waveshift/acme/kasm/admin-password' --with-decryption --query Parameter.Value --output text)",
    );
    expect(script).toContain(
      "client_secret=$(aws ssm get-parameter --region 'eu-west-1' --name '/waveshift/acme/kasm/oidc-client-secret' --with-decryption --query Parameter.Value --output text)",
    );
    expect(script).toMatch(
      /^printf '%s\\n%s\\n' "\$admin_password" "\$client_secret" \| python3 "\$work\/apply\.py" "\$work\/config\.json"$/m,
    );
  });

  it('refuses a body that would end its here-document early', () => {
    expect(() =>
      kasmOidcScript({
        region: 'us-east-1',
        adminPasswordParameter: 'a',
        clientSecretParameter: 'b',
        caCertificatePem: 'x\nWAVESHIFT_CA\ny',
        document: kasmOidcDocument(),
      }),
    ).toThrow(/WAVESHIFT_CA/);
  });

  it('has a fingerprint that follows the CA, the region and the deployment, and nothing random', () => {
    const fingerprint = plannedKasmOidcFingerprint(scope, CA);
    expect(fingerprint).toMatch(/^kasm-oidc-[0-9a-f]{16}$/);
    expect(plannedKasmOidcFingerprint(scope, CA)).toBe(fingerprint);
    expect(kasmOidcFingerprint(kasmOidcScriptFor(scope, CA))).toBe(fingerprint);
    expect(plannedKasmOidcFingerprint(scope, CA.replace('TEST', 'OTHER'))).not.toBe(fingerprint);
    expect(plannedKasmOidcFingerprint({ ...scope, region: 'us-east-1' }, CA)).not.toBe(fingerprint);
    expect(plannedKasmOidcFingerprint({ ...scope, deployment: 'beta' }, CA)).not.toBe(fingerprint);
    expect(plannedKasmOidcFingerprint(scope, undefined)).toBe('kasm-oidc-(controller-tls, once created)');
  });

  it('is sent again when this run made or renewed the CA, and kept otherwise', () => {
    const recorded = plannedKasmOidcFingerprint(scope, CA);
    const current = {
      resources: [
        {
          kind: 'instance' as const,
          component: 'kasm',
          id: 'i-kasm',
          fields: {},
          facts: { kasmOidc: recorded },
        },
      ],
      records: {},
    };
    const input = {
      fingerprints: { controller: '', kasm: '', kasmOidc: recorded },
      scope,
    } as unknown as PlanInput;
    const [kept] = planStep('kasm-oidc-config', current, input, {}, {});
    expect(kept).toMatchObject({
      action: 'keep',
      resource: { kind: 'service', component: KASM_OIDC_SERVICE },
    });
    const renewed = CA.replace('TEST', 'RENEWED');
    const [sent] = planStep(
      'kasm-oidc-config',
      current,
      input,
      {},
      { 'controller-tls': { caCertificate: renewed } },
    );
    expect(sent).toMatchObject({
      action: 'update',
      before: { configured: recorded },
      after: { configured: plannedKasmOidcFingerprint(scope, renewed) },
    });
  });

  it('is recorded on the Kasm instance, where the plan reads it back', () => {
    const kasm = {
      kind: 'instance' as const,
      component: 'kasm',
      id: 'i-kasm',
      fields: {},
      facts: { installed: 'kasm-1', kasmOidc: 'kasm-oidc-2' },
    };
    expect(
      matches({ resources: [kasm], records: {} }, { kind: 'service', component: KASM_OIDC_SERVICE }),
    ).toEqual([{ id: 'i-kasm', fields: { configured: 'kasm-oidc-2' } }]);
    expect(matches({ resources: [kasm], records: {} }, { kind: 'service', component: 'kasm' })).toEqual([
      { id: 'i-kasm', fields: { installed: 'kasm-1' } },
    ]);
    expect(
      matches({ resources: [], records: {} }, { kind: 'service', component: KASM_OIDC_SERVICE }),
    ).toEqual([]);
  });
});

describe('an operator’s group given to Kasm by `wavectl groups add`', () => {
  const lab = operatorKasmGroup('Lab', 'the test lab');
  const script = kasmOidcScriptFor(scope, CA, [lab]);
  const docs = hereDocuments(script);

  it('is a Kasm group of the same name, mapped from that claim value, with no permission', () => {
    expect(lab).toEqual({
      name: 'Lab',
      description: 'Waveshift group Lab (OpenID groups claim Lab): the test lab',
      ssoGroupAttribute: 'Lab',
      permissions: [],
    });
    expect(operatorKasmGroup('crew', null).description).toBe(
      'Waveshift group crew (OpenID groups claim crew)',
    );
  });

  it('rides deploy’s script with the one group added and everything else as deploy renders it', () => {
    const deploys = kasmOidcScriptFor(scope, CA);
    const document = kasmOidcDocument();
    expect(JSON.parse(docs.WAVESHIFT_CONFIG!)).toEqual({ ...document, groups: [...document.groups, lab] });
    const withoutConfig = (text: string) =>
      text.replace(/<<'WAVESHIFT_CONFIG'\n[\s\S]*?\nWAVESHIFT_CONFIG$/m, '');
    expect(withoutConfig(script)).toBe(withoutConfig(deploys));
    // Deploy's fingerprint (the instance's tag) is of deploy's own script: the extra group changes it.
    expect(kasmOidcFingerprint(script)).not.toBe(plannedKasmOidcFingerprint(scope, CA));
  });

  it('is sent only where wavectl.json records a Kasm host and the deployment CA, else says why not', () => {
    const tls = { caCertificate: CA, caFingerprint: 'f', caExpires: '2030-01-01T00:00:00.000Z' };
    expect(kasmTarget({ resources: { 'kasm-instance': 'i-1' }, tls })).toEqual({ ca: CA });
    expect(kasmTarget({ resources: {}, tls })).toEqual({
      notDeployed: 'wavectl.json records no Kasm host (no `wavectl deploy` from here)',
    });
    expect(kasmTarget({ resources: { 'kasm-instance': 'i-1' } })).toEqual({
      notDeployed: 'wavectl.json records no deployment CA yet (`wavectl deploy` has not finished)',
    });
  });

  it('reports the script’s lines about that group only', () => {
    const stdout = [
      'kasm-oidc: OpenID configuration unchanged',
      'kasm-oidc: group waveshift-users unchanged',
      'kasm-oidc: group Lab created',
      'kasm-oidc: group Lab mapped from OpenID group Lab',
      'kasm-oidc: group Lab2 created',
    ].join('\n');
    expect(groupLines(stdout, 'Lab')).toBe('group Lab created; group Lab mapped from OpenID group Lab');
  });
});
