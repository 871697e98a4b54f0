import type { Change } from '../aws/change';
import { COMPONENT } from '../aws/components';
import type { WaitOptions } from '../aws/retry';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { formatElapsed, renderTable } from '../io/output';
import { type ApplyEnv, applyStep } from './apply';
import { type Current, readDeployment } from './census';
import { readControllerArtifacts } from './controller-artifacts';
import { openDeploymentAws } from './deployment-aws';
import { type GraphStep, runGraph } from './graph';
import { plannedKasmOidcFingerprint } from './kasm-oidc-step';
import { estimateMonthlyCost, knownIds, type PlanInput, planDeployment, planStep, planStrays } from './plan';
import { changeLines, renderChanges } from './plan-text';
import { removeAll } from './remove';
import { type Health, probeService, serviceFingerprints } from './services';

export interface DeployOptions {
  dryRun?: boolean;
  controllerInstanceType?: string;
  kasmInstanceType?: string;
}

export interface StepReport {
  step: string;
  status: 'unchanged' | 'created' | 'changed' | 'deleted' | Health['health'];
  id: string;
  detail?: string;
  elapsedMs: number;
}

export type DeployResult =
  | {
      mode: 'dry-run';
      deployment: string;
      region: string;
      changes: Change[];
      cost: ReturnType<typeof estimateMonthlyCost>;
    }
  | {
      mode: 'apply';
      deployment: string;
      region: string;
      status: 'unchanged' | 'changed';
      /** The plan this run applied (the same objects `--dry-run` prints). */
      changes: Change[];
      steps: StepReport[];
      unhealthy: string[];
      unverified: string[];
      /** False when a service is unhealthy. */
      ok: boolean;
      notes: string[];
      /** The read phase (every family's describes) and the plan: the first link of every chain. */
      readMs: number;
      elapsedMs: number;
    };

export { TAG_INSTALLED } from '../aws/instances';

/** The upstream identity provider the controller delegates to, if any. Pure. */
const upstreamOf = (config: WavectlConfig) =>
  config.identityProvider === 'local' ? undefined : config.upstream;

/** Pure: the step graph's shape (ids and dependencies), also used by the benchmark's critical path. */
export const DEPLOY_GRAPH: readonly { id: string; needs: readonly string[] }[] = [
  { id: 'vpc', needs: [] },
  { id: 'public-subnet', needs: ['vpc'] },
  { id: 'private-subnet', needs: ['vpc', 'public-subnet'] },
  { id: 'internet-gateway', needs: ['vpc'] },
  { id: 'nat-eip', needs: [] },
  { id: 'nat-gateway', needs: ['public-subnet', 'nat-eip', 'internet-gateway'] },
  { id: 'public-route-table', needs: ['public-subnet', 'internet-gateway'] },
  { id: 'private-route-table', needs: ['private-subnet', 'nat-gateway'] },
  { id: 'controller-security-group', needs: ['vpc'] },
  { id: 'kasm-security-group', needs: ['vpc'] },
  { id: 'access-server-security-group', needs: ['vpc'] },
  { id: 'staging-bucket', needs: [] },
  { id: 'controller-role', needs: [] },
  { id: 'kasm-role', needs: [] },
  { id: 'access-server-role', needs: [] },
  { id: 'api-key', needs: [] },
  { id: 'kasm-admin-password', needs: [] },
  { id: 'kasm-oidc-client-secret', needs: [] },
  { id: 'idp-client-secret', needs: [] },
  { id: 'controller-zone', needs: ['vpc'] },
  { id: 'kasm-zone', needs: ['vpc'] },
  {
    id: 'controller-instance',
    needs: ['private-subnet', 'controller-security-group', 'controller-role', 'private-route-table'],
  },
  {
    id: 'kasm-instance',
    needs: ['private-subnet', 'kasm-security-group', 'kasm-role', 'private-route-table'],
  },
  {
    id: 'access-servers',
    needs: ['public-subnet', 'public-route-table', 'access-server-security-group', 'access-server-role'],
  },
  { id: 'controller-record', needs: ['controller-zone', 'controller-instance'] },
  { id: 'kasm-record', needs: ['kasm-zone', 'kasm-instance'] },
  { id: 'controller-tls', needs: ['controller-instance'] },
  {
    id: 'controller-service',
    needs: [
      'controller-instance',
      'staging-bucket',
      'api-key',
      'controller-tls',
      'kasm-oidc-client-secret',
      'idp-client-secret',
    ],
  },
  { id: 'kasm-service', needs: ['kasm-instance', 'kasm-admin-password'] },
  // Kasm only stores the configuration: the controller need not be up yet, only its CA and Kasm's secret.
  { id: 'kasm-oidc-config', needs: ['kasm-service', 'controller-tls', 'kasm-oidc-client-secret'] },
  { id: 'controller-health', needs: ['controller-service', 'controller-record'] },
  { id: 'kasm-health', needs: ['kasm-service', 'kasm-record'] },
];

/** Steps that only exist when the deployment has access servers. */
const ACCESS_SERVER_STEPS = new Set(['access-server-security-group', 'access-server-role', 'access-servers']);

/** The step that only exists with an upstream identity provider. */
const UPSTREAM_STEP = 'idp-client-secret';

/**
 * Pure: the graph of a deployment, without the access-server steps when it has none, and without the
 * upstream provider's secret for local users.
 */
export function deployGraph(config: WavectlConfig): { id: string; needs: readonly string[] }[] {
  const steps = DEPLOY_GRAPH.filter(
    (s) =>
      (config.accessServers.length > 0 || !ACCESS_SERVER_STEPS.has(s.id)) &&
      (config.identityProvider !== 'local' || s.id !== UPSTREAM_STEP),
  );
  const present = new Set(steps.map((s) => s.id));
  return steps.map((s) => ({ ...s, needs: s.needs.filter((n) => present.has(n)) }));
}

/** Applies --controller-instance-type / --kasm-instance-type to the config; pure. */
export function withInstanceTypes(config: WavectlConfig, options: DeployOptions): WavectlConfig {
  const { controllerInstanceType: c, kasmInstanceType: k } = options;
  if (!c && !k) return config;
  return {
    ...config,
    instances: {
      ...config.instances,
      controller: { ...config.instances.controller, ...(c ? { type: c } : {}) },
      kasm: { ...config.instances.kasm, ...(k ? { type: k } : {}) },
    },
  };
}

const STATUS_OF: Record<Change['action'], StepReport['status']> = {
  create: 'created',
  update: 'changed',
  delete: 'deleted',
  keep: 'unchanged',
};

/** Pure: one step's report from its changes (the most significant action wins). */
function stepStatus(changes: readonly Change[]): StepReport['status'] {
  for (const action of ['create', 'update', 'delete'] as const)
    if (changes.some((c) => c.action === action)) return STATUS_OF[action];
  return 'unchanged';
}

/** The plan's inputs and the read, shared by deploy, --dry-run and status. */
export async function readAndPlan(ctx: Context, config: WavectlConfig) {
  const [aws, artifacts] = await Promise.all([openDeploymentAws(ctx, config), readControllerArtifacts()]);
  const input: PlanInput = {
    config,
    scope: aws.scope,
    fingerprints: {
      ...serviceFingerprints(artifacts, aws.scope, upstreamOf(config)),
      kasmOidc: plannedKasmOidcFingerprint(aws.scope, config.tls?.caCertificate),
    },
  };
  const began = Date.now();
  const current: Current = await ctx.io.track(
    'read the deployment',
    () => readDeployment(aws.clients, aws.scope),
    (c) => `${c.resources.length} resources`,
  );
  const changes = planDeployment(current, input);
  return { aws, artifacts, input, current, changes, readMs: Date.now() - began };
}

export async function deploy(ctx: Context, options: DeployOptions): Promise<DeployResult> {
  if (options.dryRun) return dryRun(ctx, options);
  return ctx.withLock(async () => {
    const loaded = await ctx.loadConfig();
    let config = withInstanceTypes(loaded, options);
    const { validateInstanceTypes } = await import('./validate-options');
    validateInstanceTypes(config);
    if (config !== loaded) await ctx.saveConfig(config);
    // A lost region: the access-server family below launches recorded servers whose instance is gone, and
    // each fetches its key from SSM at boot. Where SSM lost that key too, give the server a new one first,
    // and mark its sites unfinished so that `sites --add` puts their peers back.
    if (config.accessServers.some((a) => a.instanceId)) {
      const { recoverGoneAccessServers } = await import('../access-servers/recover-gone');
      const clients = await ctx.aws();
      config = (await recoverGoneAccessServers(ctx, config, await clients.ec2(), await clients.ssm())).config;
    }
    const began = Date.now();
    const notes: string[] = [];
    const note = (message: string) => {
      notes.push(message);
      ctx.io.info(message);
    };
    const { aws, artifacts, input, current, changes, readMs } = await readAndPlan(ctx, config);
    const { clients, scope, emulator, endpointUrl } = aws;
    // Asked before any step runs: a prompt amid parallel steps, or a refusal halfway through, would not do.
    const idpClientSecret = changes.some(
      (c) => c.action === 'create' && c.resource.component === COMPONENT.idpClientSecret,
    )
      ? await (await import('../config/idp-client-secret')).obtainIdpClientSecret(ctx, config)
      : undefined;
    const wait: WaitOptions = { emulator };
    if (emulator) note(`AWS endpoint override ${endpointUrl}: treating it as an emulator`);
    for (const line of changeLines(changes)) ctx.io.info(`plan: ${line}`);

    // Resource IDs are cached in wavectl.json as steps finish; saves are serialised so none is lost.
    let saving = Promise.resolve();
    const save = (next: WavectlConfig) => {
      config = next;
      const snapshot = config;
      saving = saving.then(() => ctx.saveConfig(snapshot));
    };
    const remember = (key: string, id: string) => {
      if (config.resources[key] !== id) save({ ...config, resources: { ...config.resources, [key]: id } });
    };

    const known = knownIds(current, config);
    const env: ApplyEnv = {
      clients,
      scope,
      config,
      wait,
      current,
      ids: known.ids,
      facts: known.facts,
      note,
      progress: (message) => ctx.io.info(message),
      remember,
      idpClientSecret,
      services: {
        upstream: upstreamOf(config),
        ssm: clients.ssm,
        s3: clients.s3,
        deployment: scope.deployment,
        region: scope.region,
        bucket: scope.bucket,
        emulator,
        artifacts,
        note,
        debug: (message) => ctx.io.debug(message),
      },
      accessServerChanged: (record) => {
        save({
          ...config,
          accessServers: config.accessServers.map((a) => (a.index === record.index ? record : a)),
        });
        note(
          `access server ${record.index} is now ${record.instanceId} at ${record.publicIp}: run \`wavectl access-servers --add 0\` to register it with the controller, then \`wavectl configure-hub\` for its sites`,
        );
      },
      tlsChanged: (record) => save({ ...config, tls: record }),
    };
    const applied: Change[] = [];
    const health: Partial<Record<string, Health & { id: string }>> = {};
    type Outcome = { status: StepReport['status']; id: string; detail?: string };
    const run = async (id: string): Promise<Outcome> => {
      if (id.endsWith('-health')) {
        const component = id === 'controller-health' ? 'controller' : 'kasm';
        const instanceId = env.ids[`${component}-instance`]!;
        const probed = await probeService(clients.ssm, component, instanceId, {
          emulator,
          comment: `wavectl deploy: ${component} health`,
        });
        health[component] = { ...probed, id: instanceId };
        const why = probed.health === 'unverified' ? ` (${probed.reason})` : '';
        return { status: probed.health, id: instanceId, detail: `${probed.detail}${why}` };
      }
      const stepChanges = planStep(id, current, input, env.ids, env.facts);
      applied.push(...stepChanges);
      const resourceId = await applyStep(id, stepChanges, env);
      env.ids[id] = resourceId;
      if (!/-(service|record|tls|config)$/.test(id) && id !== 'access-servers') remember(id, resourceId);
      const detail = changeLines(stepChanges).join('; ');
      return { status: stepStatus(stepChanges), id: resourceId, ...(detail ? { detail } : {}) };
    };
    const graph = deployGraph(config);
    const steps: GraphStep<Outcome>[] = graph.map(({ id, needs }) => ({ id, needs, run: () => run(id) }));
    let outcomes: Awaited<ReturnType<typeof runGraph<Outcome>>>;
    try {
      outcomes = await runGraph(steps, {
        started: (id) => ctx.io.step(id, 'started'),
        done: (id, r) =>
          ctx.io.step(
            id,
            r.status === 'unhealthy' ? 'failed' : 'done',
            r.detail ? `${r.status}, ${r.detail}` : r.status,
          ),
        failed: (id, error) =>
          ctx.io.step(id, 'failed', error instanceof Error ? error.message : String(error)),
      });
    } finally {
      await saving;
    }
    const order = new Map(DEPLOY_GRAPH.map((s, i) => [s.id, i]));
    const reports: StepReport[] = outcomes
      .map((o) => ({ step: o.id, ...o.result, elapsedMs: o.elapsedMs }))
      .sort((a, b) => order.get(a.step)! - order.get(b.step)!);

    // What nothing wants goes last, in reverse dependency order, as destroy removes it.
    const strays = planStrays(current, config);
    if (strays.length > 0) {
      const byId = new Set(strays.map((c) => c.id));
      await removeAll(
        current.resources.filter((r) => byId.has(r.id)),
        clients,
        wait,
        async (r, work) => {
          const started = Date.now();
          await ctx.io.track(`delete ${r.kind} ${r.component} ${r.id}`, work);
          reports.push({
            step: `delete ${r.kind} ${r.component}`,
            status: 'deleted',
            id: r.id,
            elapsedMs: Date.now() - started,
          });
        },
      );
      applied.push(...strays);
    }
    const unhealthy = reports.filter((r) => r.status === 'unhealthy').map((r) => `${r.step}: ${r.detail}`);
    const unverified = reports.filter((r) => r.status === 'unverified').map((r) => `${r.step}: ${r.detail}`);
    const changed = applied.some((c) => c.action !== 'keep');
    return {
      mode: 'apply',
      deployment: scope.deployment,
      region: scope.region,
      status: changed ? 'changed' : 'unchanged',
      changes: applied,
      steps: reports,
      unhealthy,
      unverified,
      ok: unhealthy.length === 0,
      notes,
      readMs,
      elapsedMs: Date.now() - began,
    };
  });
}

async function dryRun(ctx: Context, options: DeployOptions): Promise<DeployResult> {
  const config = withInstanceTypes(await ctx.loadConfig(), options);
  const { validateInstanceTypes } = await import('./validate-options');
  validateInstanceTypes(config);
  const { changes } = await readAndPlan(ctx, config);
  return {
    mode: 'dry-run',
    deployment: config.name,
    region: config.aws.region,
    changes,
    cost: estimateMonthlyCost(config),
  };
}

export function renderDeployResult(result: DeployResult): string {
  if (result.mode === 'dry-run') {
    const toDo = result.changes.filter((c) => c.action !== 'keep');
    const cost = result.cost.lines.map((l) => [l.item, `$${l.monthlyUsd.toFixed(2)}`]);
    return [
      `Plan for ${result.deployment} (${result.region}), nothing changed (dry run): ${toDo.length === 0 ? 'up to date' : `${toDo.length} to create, change or delete`}`,
      renderChanges(result.changes),
      ...(toDo.length > 0 ? ['', 'Changes:', ...changeLines(result.changes).map((l) => `  ${l}`)] : []),
      '',
      'Estimated monthly cost (on-demand list prices, data transfer excluded):',
      renderTable(['item', 'USD/month'], [...cost, ['total', `$${result.cost.totalUsd.toFixed(2)}`]]),
      'Health checks run through SSM after the instances are up.',
    ].join('\n');
  }
  const rows = result.steps.map((s) => [s.step, s.status, s.id, s.detail ?? '', formatElapsed(s.elapsedMs)]);
  const headline =
    result.status === 'unchanged'
      ? `Deployment ${result.deployment} (${result.region}) is up to date: unchanged`
      : `Deployment ${result.deployment} (${result.region}) deployed in ${formatElapsed(result.elapsedMs)}`;
  const health = [
    ...(result.unhealthy.length === 0 ? [] : ['Unhealthy:', ...result.unhealthy.map((u) => `  ${u}`)]),
    ...(result.unverified.length === 0 ? [] : ['Unverified:', ...result.unverified.map((u) => `  ${u}`)]),
  ];
  return [
    headline,
    renderTable(['step', 'status', 'id', 'detail', 'time'], rows),
    health.length > 0 ? health.join('\n') : 'All services healthy.',
  ].join('\n');
}
