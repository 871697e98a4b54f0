import { CONTROLLER_HTTPS_URL, KASM_DNS_NAME } from '../network/service-names';

/** The issuer Kasm is configured with; the controller serves the provider under it. */
export const OIDC_ISSUER = `${CONTROLLER_HTTPS_URL}/auth`;

/**
 * The controller's client registration for Kasm (src/controller/config.ts) and its provider's routes
 * (src/controller/oidc/provider.ts), restated here so that the CLI bundle does not pull in the controller; a
 * test holds the two copies equal.
 */
export const KASM_OIDC_CLIENT = {
  clientId: 'kasm',
  callbackPath: '/api/oidc_callback',
  routes: { authorization: '/authorize', token: '/token', userinfo: '/userinfo' },
  scopes: ['openid', 'profile', 'groups'],
} as const;

/** What the Kasm login page's button says. */
export const KASM_OIDC_DISPLAY_NAME = 'Sign in with Waveshift';

/**
 * Kasm's OpenID configuration as its admin API takes it (`target_oidc_config` of admin/create_oidc_config
 * and admin/update_oidc_config), less the client secret, which the applying script reads from SSM on the
 * Kasm host. Field names are those of the form Kasm's admin UI posts (Access Management → Authentication →
 * OpenID); `scope` travels as the form's text, one scope a line, and Kasm returns it as a list.
 */
export interface KasmOidcConfig {
  display_name: string;
  enabled: boolean;
  auto_login: boolean;
  hostname: string;
  is_default: boolean;
  client_id: string;
  auth_url: string;
  token_url: string;
  user_info_url: string;
  scope: string;
  username_attribute: string;
  groups_attribute: string;
  debug: boolean;
  redirect_url: string;
}

/** A Kasm group wavectl keeps, mapped from one value of the OpenID `groups` claim. */
export interface KasmGroup {
  name: string;
  description: string;
  /** The claim value (Kasm: the group's SSO mapping, "SSO Group Attributes"). */
  ssoGroupAttribute: string;
  /** Kasm permissions by their documented name ("Global Admin"), granted to the group. */
  permissions: string[];
}

/** Everything the applying script makes Kasm hold. */
export interface KasmOidcDocument {
  oidc: KasmOidcConfig;
  groups: KasmGroup[];
  /** Kasm's built-in administrator, whose password wavectl generated into SSM. */
  adminUsername: string;
}

const KASM_ADMIN_USERNAME = 'admin@kasm.local';

/**
 * Pure: the configuration `deploy` gives Kasm. Auto login sends a visitor of https://kasm.internal/ straight
 * to Waveshift (Kasm's own form stays at /#/staticlogin for admin@kasm.local); the groups follow the claim
 * values the controller issues (src/controller/oidc/claims.ts).
 */
export function kasmOidcDocument(
  issuer: string = OIDC_ISSUER,
  kasmHost: string = KASM_DNS_NAME,
): KasmOidcDocument {
  const { routes } = KASM_OIDC_CLIENT;
  return {
    adminUsername: KASM_ADMIN_USERNAME,
    oidc: {
      display_name: KASM_OIDC_DISPLAY_NAME,
      enabled: true,
      auto_login: true,
      hostname: kasmHost,
      is_default: true,
      client_id: KASM_OIDC_CLIENT.clientId,
      auth_url: `${issuer}${routes.authorization}`,
      token_url: `${issuer}${routes.token}`,
      user_info_url: `${issuer}${routes.userinfo}`,
      scope: KASM_OIDC_CLIENT.scopes.join('\n'),
      username_attribute: 'preferred_username',
      groups_attribute: 'groups',
      debug: false,
      redirect_url: `https://${kasmHost}${KASM_OIDC_CLIENT.callbackPath}`,
    },
    groups: [
      {
        name: 'waveshift-admins',
        description: 'Waveshift administrators (OpenID groups claim waveshift-admins): Kasm administrators',
        ssoGroupAttribute: 'waveshift-admins',
        permissions: ['Global Admin'],
      },
      {
        name: 'waveshift-users',
        description: 'Waveshift users (OpenID groups claim waveshift-users)',
        ssoGroupAttribute: 'waveshift-users',
        permissions: [],
      },
    ],
  };
}

/**
 * Pure: the Kasm group for an operator's group (`wavectl groups add`): mapped from its name as the groups
 * claim carries it, with no permission, since what it may launch is the operator's choice in Kasm.
 */
export function operatorKasmGroup(name: string, description?: string | null): KasmGroup {
  return {
    name,
    description: `Waveshift group ${name} (OpenID groups claim ${name})${description ? `: ${description}` : ''}`,
    ssoGroupAttribute: name,
    permissions: [],
  };
}
