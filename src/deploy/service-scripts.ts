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
}

/** Where the staged files land on the instance; the install script copies the bundle into place from here. */
export const STAGING_DIR = '/var/lib/waveshift/staging';

/**
 * Pure: the Run Command script that installs the controller. It carries only names (bucket, keys, the API
 * key's parameter name); the instance fetches the bundle with its role and the key from Parameter Store.
 */
export function controllerInstallScript(p: ControllerInstallInputs): string {
  const s3 = (key: string, to: string) =>
    `aws s3 cp --only-show-errors --region ${shellQuote(p.region)} ${shellQuote(`s3://${p.bucket}/${key}`)} ${shellQuote(to)}`;
  return [
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
    `bash ${STAGING_DIR}/install-controller.sh`,
  ].join('\n');
}

/** Kasm Workspaces release installed by `deploy` (the official installer, single-server mode). */
export const KASM_RELEASE_URL =
  'https://kasm-static-content.s3.amazonaws.com/kasm_release_1.16.1.98d6fa.tar.gz';

/**
 * Pure: installs Kasm once. The installer prints the generated admin passwords: its output goes to a
 * root-only file on the host, never into the command's output (which SSM keeps in its history).
 */
export function kasmInstallScript(releaseUrl = KASM_RELEASE_URL): string {
  return [
    'set -euo pipefail',
    'if [ -d /opt/kasm/current ]; then echo "Kasm Workspaces already installed"; exit 0; fi',
    'umask 077',
    'work=$(mktemp -d)',
    'cd "$work"',
    `curl -fsSL --retry 5 -o kasm_release.tar.gz ${shellQuote(releaseUrl)}`,
    'tar -xf kasm_release.tar.gz',
    'bash kasm_release/install.sh --accept-eula --swap-size 4096 > /root/kasm-install.log 2>&1',
    'echo "Kasm Workspaces installed; its generated credentials are in /root/kasm-install.log (root only)"',
  ].join('\n');
}

export const CONTROLLER_HEALTH_SCRIPT = `curl -fsS --max-time 10 http://127.0.0.1:${CONTROLLER_PORT}/health`;
export const KASM_HEALTH_SCRIPT =
  'curl -fsSk --max-time 10 -o /dev/null -w "%{http_code}\\n" https://127.0.0.1/api/__healthcheck';
