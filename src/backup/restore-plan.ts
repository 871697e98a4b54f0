import { checkConfig, invalidConfigError, serializeConfig } from '../config/file';
import type { WavectlConfig } from '../config/schema';
import { DEPLOYMENT_NAME_PATTERN, REGION_PATTERN } from '../config/schema';
import { BackupError, UsageError } from '../errors';
import type { SecretEntry } from './archive';
import { renameSecret } from './secrets';

export interface RestorePlan {
  config: WavectlConfig;
  configText: string;
  secrets: SecretEntry[];
  renamed: boolean;
  moved: boolean;
}

/**
 * Pure: the wavectl.json and secrets a restore writes. Every AWS ID in the file is a cache of resources that
 * are gone or belong to the source (another region, another name), so it is dropped; access servers and
 * sites keep their keys but are marked unregistered, which makes `access-servers --add` and `sites --add`
 * launch, route and register them again (counted toward N, so nothing is doubled).
 */
export function planRestore(
  configText: string,
  secrets: readonly SecretEntry[],
  target: { region?: string; name?: string },
): RestorePlan {
  if (target.region !== undefined && !REGION_PATTERN.test(target.region)) {
    throw new UsageError(`--region must be an AWS region code such as eu-west-1, got "${target.region}"`);
  }
  if (target.name !== undefined && !DEPLOYMENT_NAME_PATTERN.test(target.name)) {
    throw new UsageError(
      `--name must be 1-32 characters of lowercase letters, digits and "-", got "${target.name}"`,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(configText);
  } catch (error) {
    throw new BackupError(
      'the wavectl.json in the archive is not JSON; the archive was made from a broken file',
      {
        cause: error,
      },
    );
  }
  const check = checkConfig(document);
  if (!check.ok) throw invalidConfigError('the wavectl.json in the archive', check.problems);
  const source = check.config;
  const name = target.name ?? source.name;
  const region = target.region ?? source.aws.region;
  const config: WavectlConfig = {
    ...source,
    name,
    aws: { ...source.aws, region },
    resources: {},
    accessServers: source.accessServers.map(({ instanceId: _i, publicIp: _p, ...s }) => ({
      ...s,
      registered: false,
    })),
    sites: source.sites.map((s) => ({ ...s, registered: false })),
  };
  return {
    config,
    configText: serializeConfig(config),
    secrets: secrets.map((s) => ({ ...s, name: renameSecret(s.name, source.name, name) })),
    renamed: name !== source.name,
    moved: region !== source.aws.region,
  };
}
