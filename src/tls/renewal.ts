import { type CertificateFacts, RENEW_WITHIN_DAYS } from './lifetimes';

const DAY_MS = 86_400_000;

export type CaDecision =
  | { action: 'keep' }
  | { action: 'create'; reason: string }
  | { action: 'renew'; reason: string };

export type ServerDecision = { action: 'keep'; expires: string } | { action: 'issue'; reason: string };

export interface TlsCurrent {
  /** The CA certificate recorded in wavectl.json, if any. */
  ca?: CertificateFacts;
  /** Whether SSM holds the CA's private key. */
  caKeyStored: boolean;
  /** The controller's certificate as stored, and whether the recorded CA signed it. */
  server?: CertificateFacts & { signedByCa: boolean };
  serverKeyStored: boolean;
}

export interface TlsDecision {
  ca: CaDecision;
  server: ServerDecision;
}

function daysLeft(facts: CertificateFacts, now: Date): number {
  return (Date.parse(facts.notAfter) - now.getTime()) / DAY_MS;
}

/**
 * Pure: what `deploy` does with the deployment's certificates. A CA without its key, or close to expiry, is
 * replaced (and every server certificate with it); a server certificate is reissued when it is missing, not
 * from the current CA, near expiry, or does not name every desired name and address.
 */
export function planTls(
  current: TlsCurrent,
  desired: { names: readonly string[]; ips: readonly string[] },
  now: Date,
): TlsDecision {
  let ca: CaDecision = { action: 'keep' };
  if (!current.ca) ca = { action: 'create', reason: 'no deployment CA yet' };
  else if (!current.caKeyStored)
    ca = { action: 'create', reason: 'the CA key is missing from SSM: a new CA is made' };
  else if (daysLeft(current.ca, now) < RENEW_WITHIN_DAYS.ca)
    ca = { action: 'renew', reason: `the CA expires ${current.ca.notAfter}` };

  const server = current.server;
  let serverDecision: ServerDecision;
  if (ca.action !== 'keep') serverDecision = { action: 'issue', reason: 'new deployment CA' };
  else if (!server || !current.serverKeyStored)
    serverDecision = { action: 'issue', reason: 'no controller certificate yet' };
  else if (!server.signedByCa)
    serverDecision = { action: 'issue', reason: 'the controller certificate is not from the deployment CA' };
  else if (daysLeft(server, now) < RENEW_WITHIN_DAYS.server)
    serverDecision = {
      action: 'issue',
      reason:
        daysLeft(server, now) <= 0
          ? `the controller certificate expired ${server.notAfter}`
          : `the controller certificate expires ${server.notAfter}`,
    };
  else {
    const missing = [
      ...desired.names.filter((n) => !server.names.includes(n)),
      ...desired.ips.filter((ip) => !server.ips.includes(ip)),
    ];
    serverDecision =
      missing.length > 0
        ? { action: 'issue', reason: `the controller certificate does not name ${missing.join(', ')}` }
        : { action: 'keep', expires: server.notAfter };
  }
  return { ca, server: serverDecision };
}
