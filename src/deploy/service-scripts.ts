import type { UpstreamIdentityProvider } from '../config/schema';
import { CONTROLLER_PORT } from '../network/service-names';

/** Single-quotes a value for bash. */
export const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export interface ControllerInstallInputs {
  region: string;
  bucket: string;
  bundleKey: string;
  installScriptKey: string;
  unitKey: string;
  apiKeyParameter: string;
  /** SSM names of the controller's TLS key and certificate: with them it serves HTTPS on 443. */
  tlsParameters?: { key: string; certificate: string };
  /** The OpenID provider's issuer and the SSM name of Kasm's client secret: the controller then serves it. */
  oidc?: { issuer: string; clientSecretParameter: string };
  /** The upstream identity provider the controller delegates sign-in to, and its client secret's SSM name. */
  upstream?: { settings: UpstreamIdentityProvider; clientSecretParameter: string };
}

/** A value for systemd's EnvironmentFile: double-quoted, its own quotes, backslashes, ` and $ escaped. */
export const systemdQuote = (value: string): string => `"${value.replace(/[\\"`$]/g, '\\$&')}"`;

/**
 * Pure: the controller.env lines of the upstream provider's settings (src/controller/config.ts reads them);
 * the secret and the CA file's path are added on the instance.
 */
export function upstreamEnvLines(u: UpstreamIdentityProvider): string {
  const lines: [string, string | undefined][] = [
    ['WAVESHIFT_UPSTREAM_ISSUER', u.issuerUrl],
    ['WAVESHIFT_UPSTREAM_CLIENT_ID', u.clientId],
    ['WAVESHIFT_UPSTREAM_GROUPS_CLAIM', u.groupsClaim],
    ['WAVESHIFT_UPSTREAM_GROUP_MAP', JSON.stringify(u.groupMapping)],
    ['WAVESHIFT_UPSTREAM_ADMIN_GROUPS', JSON.stringify(u.adminGroups)],
    ['WAVESHIFT_UPSTREAM_EMAIL_DOMAIN', u.allowedEmailDomain],
  ];
  return lines
    .filter((l): l is [string, string] => l[1] !== undefined)
    .map(([k, v]) => `${k}=${systemdQuote(v.replace(/[\r\n]+/g, ' '))}`)
    .join('\n');
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Where the staged files land on the instance; the install script copies the bundle into place from here. */
export const STAGING_DIR = '/var/lib/waveshift/staging';

/**
 * Pure: the Run Command script that installs the controller (bash: the SSM agent runs `sh -c <file>`, and
 * the kernel honours the `#!` line whatever the image's sh is). It carries only names (bucket, keys, the API
 * key's parameter name); the instance fetches the bundle with its role and the key from Parameter Store.
 */
export function controllerInstallScript(p: ControllerInstallInputs): string {
  const s3 = (key: string, to: string) =>
    `aws s3 cp --only-show-errors --region ${shellQuote(p.region)} ${shellQuote(`s3://${p.bucket}/${key}`)} ${shellQuote(to)}`;
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'umask 022',
    `install -d -m 0700 ${STAGING_DIR}`,
    s3(p.bundleKey, `${STAGING_DIR}/controller.cjs`),
    s3(p.installScriptKey, `${STAGING_DIR}/install-controller.sh`),
    s3(p.unitKey, `${STAGING_DIR}/waveshift-controller.service`),
    `export WAVESHIFT_BUNDLE=${STAGING_DIR}/controller.cjs`,
    `export WAVESHIFT_UNIT_FILE=${STAGING_DIR}/waveshift-controller.service`,
    `export WAVESHIFT_API_KEY_PARAMETER=${shellQuote(p.apiKeyParameter)}`,
    `export AWS_REGION=${shellQuote(p.region)}`,
    `export WAVESHIFT_PORT=${CONTROLLER_PORT}`,
    ...(p.tlsParameters
      ? [
          `export WAVESHIFT_TLS_KEY_PARAMETER=${shellQuote(p.tlsParameters.key)}`,
          `export WAVESHIFT_TLS_CERT_PARAMETER=${shellQuote(p.tlsParameters.certificate)}`,
        ]
      : []),
    ...(p.oidc
      ? [
          `export WAVESHIFT_OIDC_ISSUER=${shellQuote(p.oidc.issuer)}`,
          `export WAVESHIFT_KASM_CLIENT_SECRET_PARAMETER=${shellQuote(p.oidc.clientSecretParameter)}`,
        ]
      : []),
    ...(p.upstream
      ? [
          `export WAVESHIFT_UPSTREAM_ENV_B64=${shellQuote(base64(upstreamEnvLines(p.upstream.settings)))}`,
          `export WAVESHIFT_IDP_CLIENT_SECRET_PARAMETER=${shellQuote(p.upstream.clientSecretParameter)}`,
          ...(p.upstream.settings.caCertificate
            ? [`export WAVESHIFT_UPSTREAM_CA_B64=${shellQuote(base64(p.upstream.settings.caCertificate))}`]
            : []),
        ]
      : []),
    `bash ${STAGING_DIR}/install-controller.sh`,
  ].join('\n');
}

/** Ubuntu images lack the AWS CLI the Kasm host's scripts read Parameter Store with. */
export const UBUNTU_AWS_CLI =
  'if ! command -v aws >/dev/null 2>&1; then apt-get update -qq && apt-get install -y -qq awscli >/dev/null; fi';

/** Kasm Workspaces release installed by `deploy` (the official installer, single-server mode). */
export const KASM_RELEASE_URL = 'https://kasm-static-content.s3.amazonaws.com/kasm_release_1.18.1.tar.gz';

export interface KasmInstallInputs {
  region: string;
  /** SecureString holding the admin@kasm.local password wavectl generated. */
  adminPasswordParameter: string;
  releaseUrl?: string;
}

/**
 * Pure: installs Kasm once, on Ubuntu (whose `sh` is dash: hence the `#!/bin/bash` line the SSM agent's
 * `sh -c <file>` honours). The admin password comes from Parameter Store with the instance's role; the
 * installer's output, which repeats the passwords, is kept in a root-only log with them blanked out.
 * Umask 022, Kasm's own default: its installer copies configuration its non-root services must read.
 */
export function kasmInstallScript(p: KasmInstallInputs): string {
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    'if [ -d /opt/kasm/current ]; then echo "Kasm Workspaces already installed"; exit 0; fi',
    'umask 022',
    'export DEBIAN_FRONTEND=noninteractive',
    UBUNTU_AWS_CLI,
    `admin_password=$(aws ssm get-parameter --region ${shellQuote(p.region)} --name ${shellQuote(p.adminPasswordParameter)} --with-decryption --query Parameter.Value --output text)`,
    'work=$(mktemp -d)',
    'trap \'rm -rf "$work"\' EXIT',
    'cd "$work"',
    `curl -fsSL --retry 5 -o kasm_release.tar.gz ${shellQuote(p.releaseUrl ?? KASM_RELEASE_URL)}`,
    'tar -xf kasm_release.tar.gz',
    'install -m 600 /dev/null /root/kasm-install.log',
    'bash kasm_release/install.sh --accept-eula --swap-size 4096 --admin-password "$admin_password" 2>&1 |',
    "  sed -E 's/((password|token|secret)[^:=]*[:=]).*/\\1 (redacted)/I' >> /root/kasm-install.log",
    `echo "Kasm Workspaces installed; sign in as admin@kasm.local with the password in ${p.adminPasswordParameter}"`,
  ].join('\n');
}

export const CONTROLLER_HEALTH_SCRIPT = `curl -fsS --max-time 10 http://127.0.0.1:${CONTROLLER_PORT}/health`;
export const KASM_HEALTH_SCRIPT =
  'curl -fsSk --max-time 10 -o /dev/null -w "%{http_code}\\n" https://127.0.0.1/api/__healthcheck';
