import type { SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from '../aws/naming';
import { readStoredTls, storeCaKey, storeControllerTls } from '../aws/tls-parameters';
import type { WavectlConfig } from '../config/schema';
import {
  certificateFacts,
  createCertificateAuthority,
  issueServerCertificate,
  type KeyedCertificate,
  signedBy,
} from '../tls/certificates';
import { CONTROLLER_TLS_NAMES } from '../tls/lifetimes';
import { planTls } from '../tls/renewal';

export type TlsRecord = NonNullable<WavectlConfig['tls']>;

export interface ControllerTlsOutcome {
  status: 'created' | 'changed' | 'unchanged';
  id: string;
  detail: string;
  record: TlsRecord;
}

/**
 * `deploy`'s TLS step: reads the recorded CA and what SSM holds, decides with `planTls`, and creates or
 * renews the CA (key to SSM, certificate to wavectl.json) and the controller's certificate (key and
 * certificate to SSM, where the controller instance reads them at install).
 */
export async function ensureControllerTls(
  ssm: SSMClient,
  config: WavectlConfig,
  privateIp: string | undefined,
  now = new Date(),
): Promise<ControllerTlsOutcome> {
  const deployment = config.name;
  const stored = await readStoredTls(ssm, deployment);
  const recordedCa = config.tls?.caCertificate;
  const serverPem = stored.controllerCertificatePem;
  const desired = { names: [...CONTROLLER_TLS_NAMES], ips: privateIp ? [privateIp] : [] };
  const decision = planTls(
    {
      ca: recordedCa ? certificateFacts(recordedCa) : undefined,
      caKeyStored: Boolean(stored.caKeyPem),
      server:
        serverPem && recordedCa
          ? { ...certificateFacts(serverPem), signedByCa: signedBy(serverPem, recordedCa) }
          : undefined,
      serverKeyStored: Boolean(stored.controllerKeyPem),
    },
    desired,
    now,
  );
  let ca: KeyedCertificate;
  if (decision.ca.action === 'keep') {
    ca = { certificatePem: recordedCa!, keyPem: stored.caKeyPem! };
  } else {
    ca = await createCertificateAuthority(deployment, now);
    await storeCaKey(ssm, deployment, ca.keyPem);
  }
  let serverExpires: string;
  if (decision.server.action === 'issue') {
    const issued = await issueServerCertificate(ca, desired, now);
    await storeControllerTls(ssm, deployment, issued.certificatePem, issued.keyPem);
    serverExpires = certificateFacts(issued.certificatePem).notAfter;
  } else {
    serverExpires = decision.server.expires;
  }
  const caFacts = certificateFacts(ca.certificatePem);
  const record: TlsRecord = {
    caCertificate: ca.certificatePem,
    caFingerprint: caFacts.fingerprintSha256,
    caExpires: caFacts.notAfter,
    controllerCertificateExpires: serverExpires,
  };
  const reasons = [
    decision.ca.action === 'keep' ? undefined : `CA: ${decision.ca.reason}`,
    decision.server.action === 'issue' ? `certificate: ${decision.server.reason}` : undefined,
  ].filter(Boolean);
  return {
    status:
      decision.ca.action === 'create' && !recordedCa
        ? 'created'
        : reasons.length > 0
          ? 'changed'
          : 'unchanged',
    id: parameterNames(deployment).controllerTlsCertificate,
    detail: `${reasons.length > 0 ? `${reasons.join('; ')}; ` : ''}certificate valid until ${serverExpires}, CA ${caFacts.fingerprintSha256}`,
    record,
  };
}
