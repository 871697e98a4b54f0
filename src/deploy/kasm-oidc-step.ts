import { pending } from '../aws/change';
import { parameterNames } from '../aws/naming';
import { kasmOidcDocument } from './kasm-oidc';
import { kasmOidcFingerprint, kasmOidcScript } from './kasm-oidc-script';

/** The `service` component whose fingerprint says which OpenID configuration Kasm holds. */
export const KASM_OIDC_SERVICE = 'kasm-oidc';

/** Pure: the script `deploy` sends the Kasm host, for the deployment CA it has now. */
export function kasmOidcScriptFor(scope: { deployment: string; region: string }, caCertificatePem: string) {
  const names = parameterNames(scope.deployment);
  return kasmOidcScript({
    region: scope.region,
    adminPasswordParameter: names.kasmAdminPassword,
    clientSecretParameter: names.kasmOidcClientSecret,
    caCertificatePem,
    document: kasmOidcDocument(),
  });
}

/**
 * Pure: the fingerprint the plan wants on the Kasm instance. Before the first deploy has made the CA it is
 * not known yet; the apply computes it again from the CA the TLS step leaves.
 */
export const plannedKasmOidcFingerprint = (
  scope: { deployment: string; region: string },
  caCertificatePem: string | undefined,
): string =>
  caCertificatePem
    ? kasmOidcFingerprint(kasmOidcScriptFor(scope, caCertificatePem))
    : `kasm-oidc-${pending('controller-tls')}`;
