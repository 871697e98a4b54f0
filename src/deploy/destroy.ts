import type { ResourceKind } from '../aws/components';
import { describeRecords, withoutRecords } from '../config/records';
import type { Context } from '../context';
import { AbortedError, AwsError } from '../errors';
import { formatElapsed } from '../io/output';
import { takeCensus } from './census';
import { openDeploymentAws } from './deployment-aws';
import { removeAll } from './remove';

export interface DestroyResult {
  deployment: string;
  region: string;
  status: 'unchanged' | 'destroyed';
  deleted: { kind: ResourceKind; component: string; id: string }[];
  remaining: number;
  elapsedMs: number;
}

export async function destroy(ctx: Context): Promise<DestroyResult> {
  const config = await ctx.loadConfig();
  const deployment = config.name;
  const region = config.aws.region;
  if (
    !(await ctx.confirm(
      `This deletes every AWS resource of deployment "${deployment}" in ${region}.`,
      deployment,
      `destroy deployment "${deployment}"`,
    ))
  ) {
    throw new AbortedError('not confirmed; nothing was changed');
  }
  return ctx.withLock(async () => {
    const began = Date.now();
    const { clients, scope, emulator } = await openDeploymentAws(ctx, config);
    const found = await ctx.io.track(
      'census',
      () => takeCensus(clients, scope),
      (f) => `${f.length} resources`,
    );
    const deleted: DestroyResult['deleted'] = [];
    await removeAll(found, clients, { emulator }, async (r, work) => {
      await ctx.io.track(`delete ${r.kind} ${r.component} ${r.id}`, work);
      deleted.push({ kind: r.kind, component: r.component, id: r.id });
    });
    const left = await ctx.io.track(
      'census after',
      () => takeCensus(clients, scope),
      (f) => `${f.length} left`,
    );
    if (left.length > 0) {
      throw new AwsError(
        `destroy left ${left.length} resource(s): ${left.map((r) => `${r.kind} ${r.id}`).join(', ')}; run \`wavectl destroy\` again`,
        {},
      );
    }
    // Nothing of the deployment is left: wavectl.json keeps its settings and claims no live resource.
    const settings = await ctx.loadConfig();
    if (describeRecords(settings).length > 0) await ctx.saveConfig(withoutRecords(settings));
    return {
      deployment,
      region,
      status: found.length === 0 ? 'unchanged' : 'destroyed',
      deleted,
      remaining: 0,
      elapsedMs: Date.now() - began,
    };
  });
}

export function renderDestroyResult(result: DestroyResult): string {
  if (result.status === 'unchanged')
    return `Nothing to destroy: no resource of ${result.deployment} in ${result.region}`;
  return `Destroyed ${result.deployment} (${result.region}): ${result.deleted.length} resources deleted in ${formatElapsed(result.elapsedMs)}; none left`;
}
