/**
 * How long the deployment's certificates live and when `deploy` renews them. The CA lives ten years so the
 * routers' and browsers' installed copy rarely changes; the controller's certificate lives 90 days (the
 * usual public-web lifetime) and is renewed by any `deploy` in its last 30 days.
 */
export const LIFETIME_DAYS = { ca: 3650, server: 90 } as const;
export const RENEW_WITHIN_DAYS = { ca: 365, server: 30 } as const;

/** The controller's names inside the deployment (its private IP is added when known). */
export const CONTROLLER_TLS_NAMES = ['waveshift.internal'] as const;

export interface CertificateFacts {
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
  names: string[];
  ips: string[];
  issuer: string;
}
