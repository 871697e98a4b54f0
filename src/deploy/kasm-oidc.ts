import { CONTROLLER_HTTPS_URL } from '../network/service-names';

/** The issuer Kasm is configured with; the controller serves the provider under it. */
export const OIDC_ISSUER = `${CONTROLLER_HTTPS_URL}/auth`;
