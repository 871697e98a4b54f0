import { pending } from '../aws/change';
import { parameterNames } from '../aws/naming';
import { type KasmGroup, kasmOidcDocument } from './kasm-oidc';
import { kasmOidcFingerprint, kasmOidcScript } from './kasm-oidc-script';

/** The `service` component whose fingerprint says which OpenID configuration Kasm holds. */
export const KASM_OIDC_SERVICE = 'kasm-oidc';

/**
 * Pure: the script `deploy` sends the Kasm host, for the deployment CA it has now; `extraGroups` are
 * operators' groups (`wavectl groups add`) made beside deploy's own, the rest of the document unchanged.
 */
export function kasmOidcScriptFor(
  scope: { deployment: string; region: string },
  caCertificatePem: string,
  extraGroups: readonly KasmGroup[] = [],
) {
  const names = parameterNames(scope.deployment);
  const document = kasmOidcDocument();
  return kasmOidcScript({
    region: scope.region,
    adminPasswordParameter: names.kasmAdminPassword,
    clientSecretParameter: names.kasmOidcClientSecret,
    caCertificatePem,
    document: { ...document, groups: [...document.groups, ...extraGroups] },
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
