import { CONTROLLER_PORT } from '../network/service-names';
import { apiKeyProblem } from './auth/api-key-policy';
import type { OidcOptions } from './oidc/provider';
import type { UpstreamOptions } from './oidc/upstream';

/** The controller's settings from its environment (systemd's EnvironmentFile on EC2, the shell locally). */
export interface ControllerEnv {
  apiKey: string;
  databaseUrl?: string;
  host: string;
  port: number;
  offlineAfterMissedScans: number;
  dataDir?: string;
  /** HTTPS certificate and key files (PEM); absent: plain HTTP (a local run). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** With TLS: plain HTTP on 127.0.0.1 here, for the health probe and the SSM relay. */
  loopbackHttpPort?: number;
  /** The OpenID provider, when WAVESHIFT_OIDC_ISSUER is set: its issuer and Kasm as its client. */
  oidc?: OidcOptions;
}

/** Kasm's OpenID callback path (Kasm Workspaces: Settings → Authentication → OpenID, "Redirect URL"). */
export const KASM_OIDC_CALLBACK_PATH = '/api/oidc_callback';

/** An issuer URL from the environment variable `name`: undefined when unset, refused unless https://. */
function issuerOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const issuer = env[name]?.trim();
  if (issuer && !/^https:\/\/[^/]+(\/.*)?$/.test(issuer)) {
    throw new ControllerConfigError(`${name} must be an https:// URL`);
  }
  return issuer || undefined;
}

export function oidcEnv(env: NodeJS.ProcessEnv): OidcOptions | undefined {
  const issuer = issuerOf(env, 'WAVESHIFT_OIDC_ISSUER');
  if (!issuer) return undefined;
  const secret = env.WAVESHIFT_KASM_CLIENT_SECRET?.trim();
  if (!secret || secret.length < 32) {
    throw new ControllerConfigError(
      'WAVESHIFT_KASM_CLIENT_SECRET must be set (32 characters or more) with an issuer',
    );
  }
  const kasm = (env.WAVESHIFT_KASM_URL?.trim() || 'https://kasm.internal').replace(/\/+$/, '');
  const upstream = upstreamEnv(env);
  return {
    ...(upstream ? { upstream } : {}),
    issuer,
    clients: [
      {
        clientId: 'kasm',
        clientSecret: secret,
        redirectUris: [`${kasm}${KASM_OIDC_CALLBACK_PATH}`],
        postLogoutRedirectUris: [`${kasm}/`],
      },
    ],
  };
}

export class ControllerConfigError extends Error {}

/** The value `text` spells in JSON; undefined when it is no JSON. */
function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A JSON array of names (what deploy writes: upstream group names may hold commas), or comma-separated. */
function adminGroupsOf(text: string | undefined): string[] {
  const trimmed = text?.trim() ?? '';
  if (trimmed.startsWith('[')) {
    const parsed = jsonOf(trimmed);
    if (!Array.isArray(parsed) || !parsed.every((g) => typeof g === 'string')) {
      throw new ControllerConfigError('WAVESHIFT_UPSTREAM_ADMIN_GROUPS must be a JSON array of group names');
    }
    return parsed;
  }
  return trimmed
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
}

/**
 * The upstream identity provider, when WAVESHIFT_UPSTREAM_ISSUER is set: WAVESHIFT_UPSTREAM_CLIENT_ID,
 * WAVESHIFT_IDP_CLIENT_SECRET, and optionally WAVESHIFT_UPSTREAM_GROUPS_CLAIM (default groups),
 * WAVESHIFT_UPSTREAM_GROUP_MAP (JSON object, upstream group → Waveshift group), WAVESHIFT_UPSTREAM_ADMIN_GROUPS
 * (JSON array or comma-separated), WAVESHIFT_UPSTREAM_EMAIL_DOMAIN and WAVESHIFT_UPSTREAM_CA_FILE. Pure.
 */
export function upstreamEnv(env: NodeJS.ProcessEnv): UpstreamOptions | undefined {
  const issuer = issuerOf(env, 'WAVESHIFT_UPSTREAM_ISSUER');
  if (!issuer) return undefined;
  const clientId = env.WAVESHIFT_UPSTREAM_CLIENT_ID?.trim();
  if (!clientId)
    throw new ControllerConfigError('WAVESHIFT_UPSTREAM_CLIENT_ID must be set with an upstream issuer');
  const clientSecret = env.WAVESHIFT_IDP_CLIENT_SECRET?.trim();
  if (!clientSecret) {
    throw new ControllerConfigError('WAVESHIFT_IDP_CLIENT_SECRET must be set with an upstream issuer');
  }
  let groupMap: Record<string, string> = {};
  const mapText = env.WAVESHIFT_UPSTREAM_GROUP_MAP?.trim();
  if (mapText) {
    const parsed = jsonOf(mapText);
    const valid =
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.values(parsed).every((v) => typeof v === 'string' && v !== '');
    if (!valid) {
      throw new ControllerConfigError(
        'WAVESHIFT_UPSTREAM_GROUP_MAP must be a JSON object of upstream group → Waveshift group names',
      );
    }
    groupMap = parsed as Record<string, string>;
  }
  const emailDomain = env.WAVESHIFT_UPSTREAM_EMAIL_DOMAIN?.trim();
  const caFile = env.WAVESHIFT_UPSTREAM_CA_FILE?.trim();
  return {
    issuer,
    clientId,
    clientSecret,
    groupsClaim: env.WAVESHIFT_UPSTREAM_GROUPS_CLAIM?.trim() || 'groups',
    groupMap,
    adminGroups: adminGroupsOf(env.WAVESHIFT_UPSTREAM_ADMIN_GROUPS),
    ...(emailDomain ? { allowedEmailDomain: emailDomain } : {}),
    ...(caFile ? { caFile } : {}),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ControllerConfigError(`${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

/**
 * Reads WAVESHIFT_API_KEY (required: the controller refuses to start without it), DATABASE_URL (absent:
 * embedded PostgreSQL), HOST, PORT, WAVESHIFT_OFFLINE_AFTER_MISSED_SCANS, WAVESHIFT_DATA_DIR and the TLS
 * settings WAVESHIFT_TLS_CERT_FILE, WAVESHIFT_TLS_KEY_FILE, WAVESHIFT_LOOPBACK_HTTP_PORT, and the OpenID
 * provider's WAVESHIFT_OIDC_ISSUER, WAVESHIFT_KASM_CLIENT_SECRET, WAVESHIFT_KASM_URL. Pure.
 */
export function controllerEnv(env: NodeJS.ProcessEnv, defaults: { host: string }): ControllerEnv {
  const apiKey = env.WAVESHIFT_API_KEY?.trim();
  const problem = apiKeyProblem(apiKey, 'WAVESHIFT_API_KEY');
  if (problem || !apiKey) throw new ControllerConfigError(problem);
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ControllerConfigError('DATABASE_URL must be a postgres:// URL');
  }
  return {
    apiKey,
    databaseUrl,
    host: env.HOST?.trim() || defaults.host,
    port: integer(env, 'PORT', CONTROLLER_PORT, 0, 65535),
    offlineAfterMissedScans: integer(env, 'WAVESHIFT_OFFLINE_AFTER_MISSED_SCANS', 2, 1, 1000),
    dataDir: env.WAVESHIFT_DATA_DIR?.trim() || undefined,
    tlsCertFile: env.WAVESHIFT_TLS_CERT_FILE?.trim() || undefined,
    tlsKeyFile: env.WAVESHIFT_TLS_KEY_FILE?.trim() || undefined,
    loopbackHttpPort: env.WAVESHIFT_LOOPBACK_HTTP_PORT?.trim()
      ? integer(env, 'WAVESHIFT_LOOPBACK_HTTP_PORT', 0, 0, 65535)
      : undefined,
    oidc: oidcEnv(env),
  };
}
