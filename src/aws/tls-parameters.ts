import {
  AddTagsToResourceCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { parameterNames, resourceTags } from './naming';
import { call, errorName } from './retry';

/** The deployment's TLS material in SSM: keys as SecureString, the controller certificate as String. */
export interface StoredTls {
  caKeyPem?: string;
  controllerKeyPem?: string;
  controllerCertificatePem?: string;
}

async function read(ssm: SSMClient, name: string): Promise<string | undefined> {
  return call(`SSM GetParameter ${name}`, async () => {
    try {
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      return out.Parameter?.Value || undefined;
    } catch (error) {
      if (errorName(error) === 'ParameterNotFound') return undefined;
      throw error;
    }
  });
}

/**
 * The controller's certificate as stored: deploy writes it as a String, but a restore puts every secret back
 * as a SecureString, so it is read decrypted (a certificate is public either way).
 */
export const readControllerCertificate = (ssm: SSMClient, deployment: string): Promise<string | undefined> =>
  read(ssm, parameterNames(deployment).controllerTlsCertificate);

export async function readStoredTls(ssm: SSMClient, deployment: string): Promise<StoredTls> {
  const names = parameterNames(deployment);
  const [caKeyPem, controllerKeyPem, controllerCertificatePem] = await Promise.all([
    read(ssm, names.caKey),
    read(ssm, names.controllerTlsKey),
    read(ssm, names.controllerTlsCertificate),
  ]);
  return { caKeyPem, controllerKeyPem, controllerCertificatePem };
}

async function put(ssm: SSMClient, deployment: string, name: string, value: string, secure: boolean) {
  await call(`SSM PutParameter ${name}`, () =>
    ssm.send(
      new PutParameterCommand({
        Name: name,
        Value: value,
        Type: secure ? 'SecureString' : 'String',
        // Standard parameters hold 4 KB; a P-256 key or certificate PEM is well under 1 KB.
        Overwrite: true,
        Description: `Waveshift ${deployment} TLS`,
      }),
    ),
  );
}

/** PutParameter refuses Tags together with Overwrite, so the tags are added by their own call. */
async function tagOnce(ssm: SSMClient, deployment: string, name: string): Promise<void> {
  await call(`SSM AddTagsToResource ${name}`, () =>
    ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: 'Parameter',
        ResourceId: name,
        Tags: resourceTags(deployment, 'tls'),
      }),
    ),
  );
}

export async function storeCaKey(ssm: SSMClient, deployment: string, keyPem: string): Promise<void> {
  const name = parameterNames(deployment).caKey;
  await put(ssm, deployment, name, keyPem, true);
  await tagOnce(ssm, deployment, name);
}

export async function storeControllerTls(
  ssm: SSMClient,
  deployment: string,
  certificatePem: string,
  keyPem: string,
): Promise<void> {
  const names = parameterNames(deployment);
  await put(ssm, deployment, names.controllerTlsKey, keyPem, true);
  await put(ssm, deployment, names.controllerTlsCertificate, certificatePem, false);
  await tagOnce(ssm, deployment, names.controllerTlsKey);
  await tagOnce(ssm, deployment, names.controllerTlsCertificate);
}
