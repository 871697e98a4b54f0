import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { toAwsError } from './aws-error';
import { COMPONENT } from './components';
import { parameterNames, resourceTags } from './naming';
import { errorName } from './retry';

/**
 * Stores the upstream identity provider's client secret as a SecureString (the controller's install reads
 * it), created with its tags or, when it exists, replaced (an overwrite cannot carry tags; the parameter
 * keeps its own). Returns the parameter's version: a new value is a new version.
 */
export async function putIdpClientSecret(
  ssm: SSMClient,
  deployment: string,
  secret: string,
): Promise<{ name: string; version: string; replaced: boolean }> {
  const name = parameterNames(deployment).idpClientSecret;
  const put = (replace: boolean) =>
    ssm.send(
      new PutParameterCommand({
        Name: name,
        Type: 'SecureString',
        Value: secret,
        Overwrite: replace,
        ...(replace
          ? {}
          : {
              Description: `Waveshift ${deployment} upstream identity provider client secret`,
              Tags: resourceTags(deployment, COMPONENT.idpClientSecret),
            }),
      }),
    );
  try {
    const { Version } = await put(false);
    return { name, version: String(Version ?? ''), replaced: false };
  } catch (error) {
    if (errorName(error) !== 'ParameterAlreadyExists') throw toAwsError('SSM PutParameter', error);
  }
  try {
    const { Version } = await put(true);
    return { name, version: String(Version ?? ''), replaced: true };
  } catch (error) {
    throw toAwsError('SSM PutParameter', error);
  }
}
