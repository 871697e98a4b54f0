import { createHash } from 'node:crypto';
import { ensureApiKey } from '../aws/api-key';
import { COMPONENT } from '../aws/components';
import { ensureApexRecord, ensureZone, ZONES } from '../aws/dns';
import type { Ensured } from '../aws/ensured';
import { ensureRole, type RoleComponent, roleName } from '../aws/iam';
import {
  type FoundInstance,
  launchInstance,
  listInstances,
  resizeInstance,
  resolveAmi,
  startInstance,
  tagInstance,
  waitRunning,
} from '../aws/instances';
import { ensureInternetGateway } from '../aws/internet-gateway';
import { parameterNames } from '../aws/naming';
import { ensureNatElasticIp, ensureNatGateway } from '../aws/nat-gateway';
import type { WaitOptions } from '../aws/retry';
import { ensureRouteTable } from '../aws/route-tables';
import { ensureSecurityGroup, type SecurityGroupName } from '../aws/security-groups';
import { waitManaged } from '../aws/ssm-managed';
import { runShellScript } from '../aws/ssm-run';
import { contentKey, ensureStagingBucket, stageObject } from '../aws/staging-bucket';
import { ensureSubnet } from '../aws/subnets';
import { ensureVpc } from '../aws/vpc';
import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { AwsError, WavectlError } from '../errors';
import { formatElapsed, renderTable } from '../io/output';
import { takeCensus } from './census';
import { readControllerArtifacts } from './controller-artifacts';
import { openDeploymentAws } from './deployment-aws';
import { type GraphStep, runGraph } from './graph';
import { ensureKasmClientSecret } from './kasm-oidc';
import { type Change, estimateMonthlyCost, planDeploy } from './plan';
import {
  CONTROLLER_HEALTH_SCRIPT,
  controllerInstallScript,
  KASM_HEALTH_SCRIPT,
  kasmInstallScript,
} from './service-scripts';

export interface DeployOptions {
  dryRun?: boolean;
  controllerInstanceType?: string;
  kasmInstanceType?: string;
}

/** A step's result: what an ensure did, or a health verdict. */
export type StepResult = Ensured | { status: 'healthy' | 'unhealthy'; id: string; detail: string };

export interface StepReport {
  step: string;
  status: StepResult['status'];
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
      steps: StepReport[];
      unhealthy: string[];
      notes: string[];
      elapsedMs: number;
    };

/** Tag on an instance recording what service installation last succeeded there (so a re-deploy skips it). */
export const TAG_INSTALLED = 'waveshift:installed';

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
  { id: 'staging-bucket', needs: [] },
  { id: 'controller-role', needs: [] },
  { id: 'kasm-role', needs: [] },
  { id: 'api-key', needs: [] },
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
  { id: 'controller-record', needs: ['controller-zone', 'controller-instance'] },
  { id: 'kasm-record', needs: ['kasm-zone', 'kasm-instance'] },
  { id: 'controller-tls', needs: ['controller-instance'] },
  { id: 'controller-service', needs: ['controller-instance', 'staging-bucket', 'api-key', 'controller-tls'] },
  { id: 'kasm-service', needs: ['kasm-instance'] },
  { id: 'controller-health', needs: ['controller-service', 'controller-record'] },
  { id: 'kasm-health', needs: ['kasm-service', 'kasm-record'] },
];

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

export async function deploy(ctx: Context, options: DeployOptions): Promise<DeployResult> {
  if (options.dryRun) return dryRun(ctx, options);
  return ctx.withLock(async () => {
    const loaded = await ctx.loadConfig();
    let config = withInstanceTypes(loaded, options);
    const { validateInstanceTypes } = await import('./validate-options');
    validateInstanceTypes(config);
    if (config !== loaded) await ctx.saveConfig(config);
    const began = Date.now();
    const {
      clients: { ec2, iam, route53, ssm, s3 },
      scope: { deployment, region, bucket },
      emulator,
      endpointUrl,
    } = await openDeploymentAws(ctx, config);
    const wait: WaitOptions = { emulator };
    const notes: string[] = [];
    const note = (message: string) => {
      notes.push(message);
      ctx.io.info(message);
    };
    if (emulator) note(`AWS endpoint override ${endpointUrl}: treating it as an emulator`);

    // Facts the steps hand to the steps that need them; the graph's edges order the writes and reads.
    const ids: Record<string, string> = {};
    let availabilityZone = '';
    const instances: Partial<Record<'controller' | 'kasm', FoundInstance>> = {};

    // Resource IDs are cached in wavectl.json as steps finish; saves are serialised so none is lost.
    let saving = Promise.resolve();
    const remember = (step: string, id: string) => {
      if (config.resources[step] === id) return;
      config = { ...config, resources: { ...config.resources, [step]: id } };
      const snapshot = config;
      saving = saving.then(() => ctx.saveConfig(snapshot));
    };

    const ensureInstance = async (component: 'controller' | 'kasm'): Promise<Ensured> => {
      const size = config.instances[component];
      let [current] = await listInstances(ec2, deployment, component);
      let result: Ensured;
      if (!current) {
        const ami = await resolveAmi(ec2, ssm, component, emulator);
        if (ami.note) note(ami.note);
        current = await launchInstance(
          ec2,
          {
            deployment,
            component,
            imageId: ami.imageId,
            rootDeviceName: ami.rootDeviceName,
            instanceType: size.type,
            volumeGb: size.volumeGb,
            subnetId: ids['private-subnet']!,
            securityGroupId: ids[`${component}-security-group`]!,
            instanceProfileName: roleName(deployment, region, component),
            vpcId: ids.vpc!,
          },
          wait,
        );
        result = { status: 'created', id: current.instanceId, detail: `${size.type}, ${ami.imageId}` };
      } else if (current.instanceType !== size.type) {
        ctx.io.info(`${component}: resizing ${current.instanceType} → ${size.type} (stop, modify, start)`);
        await resizeInstance(ec2, current.instanceId, size.type, wait);
        result = {
          status: 'changed',
          id: current.instanceId,
          detail: `${current.instanceType} → ${size.type}`,
        };
      } else if (current.state === 'stopped' || current.state === 'stopping') {
        await startInstance(ec2, current.instanceId, current.state, wait);
        result = { status: 'changed', id: current.instanceId, detail: `started (was ${current.state})` };
      } else {
        result = { status: 'unchanged', id: current.instanceId };
      }
      if (current.state !== 'running' || result.status !== 'unchanged') {
        await waitRunning(ec2, current.instanceId, wait);
        [current] = await listInstances(ec2, deployment, component);
        if (!current) throw new AwsError(`${component} instance disappeared while starting`, {});
      }
      instances[component] = current;
      return result;
    };

    const installOnce = async (
      component: 'controller' | 'kasm',
      fingerprint: string,
      script: () => Promise<string>,
      timeoutSeconds: number,
    ): Promise<Ensured> => {
      const instance = instances[component]!;
      if (instance.tags[TAG_INSTALLED] === fingerprint) return { status: 'unchanged', id: fingerprint };
      const managed = await waitManaged(ssm, instance.instanceId, { emulator });
      if (managed.status === 'unverifiable') note(`${component}: ${managed.reason}`);
      const run = await runShellScript(ssm, instance.instanceId, await script(), {
        timeoutSeconds,
        comment: `wavectl deploy: install ${component}`,
        pollMs: emulator ? 200 : 5000,
        onProgress: (status) => ctx.io.debug(`${component} install: ${status}`),
      });
      if (run.status !== 'Success') {
        throw new WavectlError(
          `installing the ${component} service failed (SSM command ${run.commandId}: ${run.status}${run.exitCode === undefined ? '' : `, exit ${run.exitCode}`}): ${(run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      await tagInstance(ec2, instance.instanceId, TAG_INSTALLED, fingerprint);
      return { status: 'changed', id: fingerprint, detail: `installed (SSM command ${run.commandId})` };
    };

    const checkHealth = async (component: 'controller' | 'kasm', script: string): Promise<StepResult> => {
      const instance = instances[component]!;
      const run = await runShellScript(ssm, instance.instanceId, script, {
        timeoutSeconds: 60,
        comment: `wavectl deploy: ${component} health`,
        pollMs: emulator ? 200 : 2000,
      });
      const output = run.stdout.trim().split('\n').at(-1) ?? '';
      if (run.status === 'Success') {
        const how = emulator ? ' (command status only: the emulator does not execute commands)' : '';
        return { status: 'healthy', id: instance.instanceId, detail: `${output || 'ok'}${how}` };
      }
      return {
        status: 'unhealthy',
        id: instance.instanceId,
        detail: `${run.status}: ${(run.stderr || run.stdout).trim().split('\n').slice(-2).join(' | ') || 'no output'}`,
      };
    };

    const work: Record<string, () => Promise<StepResult>> = {
      vpc: () => ensureVpc(ec2, deployment),
      'public-subnet': async () => {
        const r = await ensureSubnet(ec2, deployment, 'public', ids.vpc!);
        availabilityZone = r.availabilityZone;
        return r;
      },
      'private-subnet': () => ensureSubnet(ec2, deployment, 'private', ids.vpc!, availabilityZone),
      'internet-gateway': () => ensureInternetGateway(ec2, deployment, ids.vpc!),
      'nat-eip': () => ensureNatElasticIp(ec2, deployment),
      'nat-gateway': () => ensureNatGateway(ec2, deployment, ids['public-subnet']!, ids['nat-eip']!, wait),
      'public-route-table': () =>
        ensureRouteTable(ec2, deployment, 'public', ids.vpc!, ids['public-subnet']!, {
          kind: 'gateway',
          id: ids['internet-gateway']!,
        }),
      'private-route-table': () =>
        ensureRouteTable(ec2, deployment, 'private', ids.vpc!, ids['private-subnet']!, {
          kind: 'nat',
          id: ids['nat-gateway']!,
        }),
      'controller-security-group': () =>
        ensureSecurityGroup(
          ec2,
          deployment,
          COMPONENT.controllerSecurityGroup as SecurityGroupName,
          ids.vpc!,
        ),
      'kasm-security-group': () =>
        ensureSecurityGroup(ec2, deployment, COMPONENT.kasmSecurityGroup as SecurityGroupName, ids.vpc!),
      'staging-bucket': () => ensureStagingBucket(s3, deployment, region, bucket),
      'controller-role': () => ensureRole(iam, 'controller' as RoleComponent, { deployment, region, bucket }),
      'kasm-role': () => ensureRole(iam, 'kasm' as RoleComponent, { deployment, region, bucket }),
      'api-key': () => ensureApiKey(ssm, deployment),
      'controller-zone': () => ensureZone(route53, deployment, region, 'controller', ids.vpc!),
      'kasm-zone': () => ensureZone(route53, deployment, region, 'kasm', ids.vpc!),
      'controller-instance': () => ensureInstance('controller'),
      'kasm-instance': () => ensureInstance('kasm'),
      'controller-record': () =>
        ensureApexRecord(
          route53,
          ids['controller-zone']!,
          ZONES.controller.name,
          instances.controller!.privateIp!,
        ),
      'kasm-record': () =>
        ensureApexRecord(route53, ids['kasm-zone']!, ZONES.kasm.name, instances.kasm!.privateIp!),
      'controller-tls': async () => {
        const { ensureControllerTls } = await import('./controller-tls');
        const { record, ...outcome } = await ensureControllerTls(
          ssm,
          config,
          instances.controller!.privateIp,
        );
        config = { ...config, tls: record };
        const snapshot = config;
        saving = saving.then(() => ctx.saveConfig(snapshot));
        return outcome;
      },
      'controller-service': async () => {
        const artifacts = await readControllerArtifacts();
        const bundleKey = contentKey('controller', artifacts.bundle, '.cjs');
        const installScriptKey = contentKey('controller', artifacts.installScript, '.sh');
        const unitKey = contentKey('controller', artifacts.unit, '.service');
        const fingerprint = `controller-${createHash('sha256').update(`${bundleKey}|${installScriptKey}|${unitKey}`).digest('hex').slice(0, 16)}`;
        return installOnce(
          'controller',
          fingerprint,
          async () => {
            await stageObject(s3, bucket, bundleKey, artifacts.bundle);
            await stageObject(s3, bucket, installScriptKey, artifacts.installScript);
            await stageObject(s3, bucket, unitKey, artifacts.unit);
            return controllerInstallScript({
              region,
              bucket,
              bundleKey,
              installScriptKey,
              unitKey,
              apiKeyParameter: parameterNames(deployment).apiKey,
              tlsParameters: {
                key: parameterNames(deployment).controllerTlsKey,
                certificate: parameterNames(deployment).controllerTlsCertificate,
              },
              oidc: await ensureKasmClientSecret(ssm, deployment),
            });
          },
          900,
        );
      },
      'kasm-service': () => {
        const script = kasmInstallScript();
        const fingerprint = `kasm-${createHash('sha256').update(script).digest('hex').slice(0, 16)}`;
        return installOnce('kasm', fingerprint, async () => script, 3600);
      },
      'controller-health': () => checkHealth('controller', CONTROLLER_HEALTH_SCRIPT),
      'kasm-health': () => checkHealth('kasm', KASM_HEALTH_SCRIPT),
    };

    const steps: GraphStep<StepResult>[] = DEPLOY_GRAPH.map(({ id, needs }) => ({
      id,
      needs,
      run: async () => {
        const result = await work[id]!();
        ids[id] = result.id;
        if (!/-(health|service|record|tls)$/.test(id)) remember(id, result.id);
        return result;
      },
    }));
    let outcomes: Awaited<ReturnType<typeof runGraph<StepResult>>>;
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
      .map((o) => ({
        step: o.id,
        status: o.result.status,
        id: o.result.id,
        detail: o.result.detail,
        elapsedMs: o.elapsedMs,
      }))
      .sort((a, b) => order.get(a.step)! - order.get(b.step)!);
    const unhealthy = reports.filter((r) => r.status === 'unhealthy').map((r) => `${r.step}: ${r.detail}`);
    const changed = reports.some((r) => r.status === 'created' || r.status === 'changed');
    const result: DeployResult = {
      mode: 'apply',
      deployment,
      region,
      status: changed ? 'changed' : 'unchanged',
      steps: reports,
      unhealthy,
      notes,
      elapsedMs: Date.now() - began,
    };
    return result;
  });
}

async function dryRun(ctx: Context, options: DeployOptions): Promise<DeployResult> {
  const config = withInstanceTypes(await ctx.loadConfig(), options);
  const { validateInstanceTypes } = await import('./validate-options');
  validateInstanceTypes(config);
  const { clients, scope } = await openDeploymentAws(ctx, config);
  const found = await takeCensus(clients, scope);
  return {
    mode: 'dry-run',
    deployment: config.name,
    region: config.aws.region,
    changes: planDeploy(found, config),
    cost: estimateMonthlyCost(config),
  };
}

export function renderDeployResult(result: DeployResult): string {
  if (result.mode === 'dry-run') {
    const rows = result.changes.map((c) => [
      c.action,
      c.resource.kind,
      c.resource.component,
      c.id ?? '',
      c.before || c.after ? `${c.before ?? ''}${c.before ? ' → ' : ''}${c.after ?? ''}` : '',
    ]);
    const toDo = result.changes.filter((c) => c.action !== 'keep').length;
    const cost = result.cost.lines.map((l) => [l.item, `$${l.monthlyUsd.toFixed(2)}`]);
    return [
      `Plan for ${result.deployment} (${result.region}), nothing changed (dry run): ${toDo === 0 ? 'up to date' : `${toDo} to create or change`}`,
      renderTable(['action', 'kind', 'component', 'id', 'change'], rows),
      '',
      'Estimated monthly cost (on-demand list prices, data transfer excluded):',
      renderTable(['item', 'USD/month'], [...cost, ['total', `$${result.cost.totalUsd.toFixed(2)}`]]),
      'Service installation and health checks run through SSM after the instances are up.',
    ].join('\n');
  }
  const rows = result.steps.map((s) => [s.step, s.status, s.id, s.detail ?? '', formatElapsed(s.elapsedMs)]);
  const headline =
    result.status === 'unchanged'
      ? `Deployment ${result.deployment} (${result.region}) is up to date: unchanged`
      : `Deployment ${result.deployment} (${result.region}) deployed in ${formatElapsed(result.elapsedMs)}`;
  const health =
    result.unhealthy.length === 0
      ? 'All services healthy.'
      : `Unhealthy:\n${result.unhealthy.map((u) => `  ${u}`).join('\n')}`;
  return [headline, renderTable(['step', 'status', 'id', 'detail', 'time'], rows), health].join('\n');
}
