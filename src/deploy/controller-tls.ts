import { createHash } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { type Change, pending } from '../aws/change';
import { COMPONENT, type ComponentRef } from '../aws/components';
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
import { planTls, type TlsDecision } from '../tls/renewal';
import type { Current } from './census';

export type TlsRecord = NonNullable<WavectlConfig['tls']>;

const CA_REF: ComponentRef = { kind: 'parameter', component: COMPONENT.caKey };
const CERTIFICATE_REF: ComponentRef = { kind: 'parameter', component: COMPONENT.controllerTlsCertificate };
/** The names and address the controller's certificate must carry. */
const desiredNames = (privateIp: string | undefined) => ({
  names: [...CONTROLLER_TLS_NAMES],
  ips: privateIp ? [privateIp] : [],
});

/** A stored certificate's facts and whether the recorded CA signed it; undefined when it is no certificate. */
function storedServer(certificatePem: string | undefined, recordedCa: string | undefined) {
  if (!certificatePem || !recordedCa) return undefined;
  try {
    return { ...certificateFacts(certificatePem), signedByCa: signedBy(certificatePem, recordedCa) };
  } catch {
    // Not a PEM certificate (edited by hand): as good as none, so a new one is issued.
    return undefined;
  }
}

/** What `planTls` decides from the recorded CA and what SSM holds (keys by their presence only). */
function decide(
  recordedCa: string | undefined,
  held: { caKey: boolean; controllerKey: boolean; certificatePem?: string },
  privateIp: string | undefined,
  now: Date,
): TlsDecision {
  return planTls(
    {
      ca: recordedCa ? certificateFacts(recordedCa) : undefined,
      caKeyStored: held.caKey,
      server: storedServer(held.certificatePem, recordedCa),
      serverKeyStored: held.controllerKey,
    },
    desiredNames(privateIp),
    now,
  );
}

/**
 * Pure: the `controller-tls` facts later steps read: which certificate the controller should serve, as a
 * short SHA-256 fingerprint ('' when there is none). The controller's installation carries it, so a new
 * certificate is a new installation, which `deploy` delivers to the running controller.
 */
export function servedCertificateFacts(certificatePem: string | undefined): Record<string, string> {
  if (!certificatePem) return { certificate: '' };
  // The PEM as SSM holds it, as the install copies it: no parsing, so a hand-edited value does not throw.
  return { certificate: createHash('sha256').update(certificatePem.trim()).digest('hex').slice(0, 16) };
}

/**
 * Pure: the same facts for a plan: the certificate kept, or a placeholder where this step issues a new one
 * (its fingerprint is known only once issued).
 */
export function plannedCertificateFacts(
  changes: readonly Change[],
  current: Current,
): Record<string, string> {
  const certificate = changes.find((c) => c.resource.component === COMPONENT.controllerTlsCertificate);
  return certificate === undefined || certificate.action === 'keep'
    ? servedCertificateFacts(current.controllerCertificatePem)
    : { certificate: pending('controller-tls') };
}

const held = (current: Current, component: string) =>
  current.resources.find((f) => f.kind === 'parameter' && f.component === component);

/**
 * Pure: the `controller-tls` step's changes — the CA (its key in SSM, its certificate in wavectl.json) and
 * the controller's certificate — each created, updated (renewed or reissued, with the reason) or kept.
 */
export function planControllerTls(
  config: WavectlConfig,
  current: Current,
  privateIp: string | undefined,
  now: Date,
): Change[] {
  const caKey = held(current, COMPONENT.caKey);
  const certificate = held(current, COMPONENT.controllerTlsCertificate);
  const decision = decide(
    config.tls?.caCertificate,
    {
      caKey: caKey !== undefined,
      controllerKey: held(current, COMPONENT.controllerTlsKey) !== undefined,
      certificatePem: current.controllerCertificatePem,
    },
    privateIp,
    now,
  );
  const change = (resource: ComponentRef, id: string | undefined, reason: string | undefined): Change => {
    if (reason === undefined) return { action: 'keep', resource, id };
    if (id === undefined) return { action: 'create', resource, after: {} };
    return { action: 'update', resource, id, before: {}, after: {}, differences: [reason] };
  };
  return [
    change(CA_REF, caKey?.id, decision.ca.action === 'keep' ? undefined : decision.ca.reason),
    change(
      CERTIFICATE_REF,
      certificate?.id,
      decision.server.action === 'keep' ? undefined : decision.server.reason,
    ),
  ];
}

/**
 * Applies the `controller-tls` step: decides again from what SSM holds now, then creates or renews the CA
 * (key to SSM; the returned record goes to wavectl.json) and the controller's certificate (key and
 * certificate to SSM, where the controller instance reads them at install). Nothing to do: no record. The
 * certificate returned is the one SSM holds now (undefined when nothing was done: the census read it).
 */
export async function applyControllerTls(
  ssm: SSMClient,
  config: WavectlConfig,
  changes: readonly Change[],
  privateIp: string | undefined,
  now = new Date(),
): Promise<{ id: string; record?: TlsRecord; certificatePem?: string }> {
  const deployment = config.name;
  const id = parameterNames(deployment).controllerTlsCertificate;
  if (changes.every((c) => c.action === 'keep')) return { id };
  const stored = await readStoredTls(ssm, deployment);
  const recordedCa = config.tls?.caCertificate;
  const decision = decide(
    recordedCa,
    {
      caKey: Boolean(stored.caKeyPem),
      controllerKey: Boolean(stored.controllerKeyPem),
      certificatePem: stored.controllerCertificatePem,
    },
    privateIp,
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
  let certificatePem = stored.controllerCertificatePem;
  if (decision.server.action === 'issue') {
    const issued = await issueServerCertificate(ca, desiredNames(privateIp), now);
    await storeControllerTls(ssm, deployment, issued.certificatePem, issued.keyPem);
    serverExpires = certificateFacts(issued.certificatePem).notAfter;
    certificatePem = issued.certificatePem;
  } else {
    serverExpires = decision.server.expires;
  }
  const caFacts = certificateFacts(ca.certificatePem);
  return {
    id,
    certificatePem,
    record: {
      caCertificate: ca.certificatePem,
      caFingerprint: caFacts.fingerprintSha256,
      caExpires: caFacts.notAfter,
      controllerCertificateExpires: serverExpires,
    },
  };
}
