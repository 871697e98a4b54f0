import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { componentOf, listInstances } from '../aws/instances';
import { parameterNames } from '../aws/naming';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { existingParameters, putSecrets } from '../sites/parameters';
import { generateKeyPair } from '../wireguard/keys';
import { planAccessServerRecovery } from './recover';

/**
 * Recorded servers whose instance is gone (see planAccessServerRecovery) become unfinished records, with a
 * new key pair stored first where SSM lost theirs. Costs nothing while no record names an instance.
 */
export async function recoverGoneAccessServers(
  ctx: Context,
  config: WavectlConfig,
  ec2: EC2Client,
  ssm: SSMClient,
): Promise<{ config: WavectlConfig; recreated: number[]; renewed: number[] }> {
  if (!config.accessServers.some((s) => s.instanceId)) return { config, recreated: [], renewed: [] };
  const live = new Set(
    (await listInstances(ec2, config.name))
      .map((i) => /^access-server-(\d+)$/.exec(componentOf(i))?.[1])
      .filter((k): k is string => k !== undefined)
      .map(Number),
  );
  const names = config.accessServers.map((s) => parameterNames(config.name).accessServerPrivateKey(s.index));
  const plan = planAccessServerRecovery(
    config.name,
    config.accessServers,
    config.sites,
    live,
    await existingParameters(ssm, names),
    () => generateKeyPair(),
  );
  if (plan.recreated.length === 0) return { config, recreated: [], renewed: [] };
  if (plan.secrets.length > 0) {
    await ctx.io.track('store new keys of re-created access servers in SSM', () =>
      putSecrets(ssm, plan.secrets),
    );
  }
  const next = { ...config, accessServers: plan.accessServers, sites: plan.sites };
  await ctx.saveConfig(next);
  ctx.io.info(
    `access server${plan.recreated.length === 1 ? '' : 's'} ${plan.recreated.join(', ')} recorded but gone: launching again${
      plan.renewed.length
        ? ` (new keys for ${plan.renewed.join(', ')}: their sites' routers need \`configure-hub\`)`
        : ', same keys'
    }; their sites are finished by the next \`sites --add\``,
  );
  return { config: next, recreated: plan.recreated, renewed: plan.renewed };
}
