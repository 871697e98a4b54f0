import { DescribeInstanceStatusCommand } from '@aws-sdk/client-ec2';
import { call } from '../aws/retry';
import { runShellScript } from '../aws/ssm-run';
import type { Context } from '../context';
import { fetchControllerHealth } from '../controller-client/health';
import { renderTable } from '../io/output';
import { type FoundResource, takeCensus } from './census';
import { openDeploymentAws } from './deployment-aws';
import { type Drift, detectDrift } from './plan';
import { CONTROLLER_HEALTH_SCRIPT, KASM_HEALTH_SCRIPT } from './service-scripts';

export interface InstanceHealth {
  component: string;
  instanceId: string;
  state: string;
  /** EC2 status checks: "ok", "impaired", "initializing", or "not running". */
  checks: string;
}

export interface ServiceHealth {
  health: 'healthy' | 'unhealthy' | 'unknown';
  detail: string;
}

export interface StatusResult {
  deployment: string;
  region: string;
  endpoint?: string;
  resources: FoundResource[];
  instances: InstanceHealth[];
  controller: ServiceHealth;
  kasm: ServiceHealth;
  drift: Drift;
  inSync: boolean;
  /** The deployment CA and the controller certificate's expiry, as recorded by `deploy`. */
  tls: { caFingerprint: string; caExpires: string; controllerCertificateExpires: string | null } | null;
}

export async function deploymentStatus(ctx: Context): Promise<StatusResult> {
  const config = await ctx.loadConfig();
  const { clients, scope, emulator, endpointUrl } = await openDeploymentAws(ctx, config);
  const { ec2, ssm } = clients;
  const { deployment, region } = scope;
  const resources = await ctx.io.track(
    'census',
    () => takeCensus(clients, scope),
    (r) => `${r.length} resources`,
  );
  const found = resources.filter((r) => r.kind === 'instance');
  const running = found.filter((r) => r.state === 'running').map((r) => r.id);
  const statuses =
    running.length === 0
      ? []
      : ((
          await call('EC2 DescribeInstanceStatus', () =>
            ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: running })),
          )
        ).InstanceStatuses ?? []);
  const instances: InstanceHealth[] = found.map((r) => {
    const s = statuses.find((x) => x.InstanceId === r.id);
    const checks = r.state !== 'running' ? 'not running' : (s?.InstanceStatus?.Status ?? 'initializing');
    return { component: r.component, instanceId: r.id, state: r.state ?? '', checks };
  });

  // Both checks through SSM Run Command on the instance itself: the services listen in the private subnet.
  const probe = async (component: string, script: string): Promise<ServiceHealth> => {
    const instance = found.find((r) => r.component === component && r.state === 'running');
    if (!instance) return { health: 'unknown', detail: `no running ${component} instance` };
    return ctx.io.track(`${component} health`, async () => {
      const run = await runShellScript(ssm, instance.id, script, {
        timeoutSeconds: 60,
        comment: `wavectl status: ${component} health`,
        pollMs: emulator ? 200 : 2000,
      });
      const out = (run.stdout || run.stderr).trim().split('\n').at(-1) ?? '';
      return run.status === 'Success'
        ? {
            health: 'healthy' as const,
            detail: `${out || 'ok'}${emulator ? ' (command status only: the emulator does not execute commands)' : ''}`,
          }
        : { health: 'unhealthy' as const, detail: `${run.status}: ${out || 'no output'}` };
    });
  };
  // With controller.url (a local controller, or an operator on the VPN) the controller answers directly.
  const controllerUrl = config.controller.url;
  const [controller, kasm] = await Promise.all([
    controllerUrl
      ? ctx.io.track('controller health', () =>
          fetchControllerHealth(controllerUrl, { ca: config.tls?.caCertificate }),
        )
      : probe('controller', CONTROLLER_HEALTH_SCRIPT),
    probe('kasm', KASM_HEALTH_SCRIPT),
  ]);
  const drift = detectDrift(resources);
  return {
    deployment,
    region,
    ...(endpointUrl ? { endpoint: endpointUrl } : {}),
    resources,
    instances,
    controller,
    kasm,
    drift,
    inSync: drift.missing.length + drift.extra.length + drift.duplicates.length === 0,
    tls: config.tls
      ? {
          caFingerprint: config.tls.caFingerprint,
          caExpires: config.tls.caExpires,
          controllerCertificateExpires: config.tls.controllerCertificateExpires ?? null,
        }
      : null,
  };
}

export function renderStatus(s: StatusResult): string {
  const rows = s.resources.map((r) => [r.kind, r.component, r.id, r.state ?? '']);
  const health = s.instances.map((i) => [i.component, i.instanceId, i.state, i.checks]);
  const drift = [
    ...s.drift.missing.map((m) => `  missing: ${m.kind} ${m.component}`),
    ...s.drift.extra.map((e) => `  extra: ${e.kind} ${e.component || '(no component tag)'} ${e.id}`),
    ...s.drift.duplicates.map((d) => `  duplicate: ${d.kind} ${d.component} ${d.id}`),
  ];
  return [
    `Deployment ${s.deployment} (${s.region})${s.endpoint ? ` at ${s.endpoint}` : ''}: ${s.resources.length} resources`,
    renderTable(['kind', 'component', 'id', 'state'], rows),
    '',
    health.length > 0 ? renderTable(['instance', 'id', 'state', 'status checks'], health) : 'No instances.',
    `Controller: ${s.controller.health} (${s.controller.detail})`,
    `Kasm: ${s.kasm.health} (${s.kasm.detail})`,
    s.tls
      ? `TLS: CA ${s.tls.caFingerprint} (until ${s.tls.caExpires}), controller certificate until ${s.tls.controllerCertificateExpires ?? 'not issued'}`
      : 'TLS: no deployment CA yet (`wavectl deploy` creates it)',
    s.inSync ? 'Drift: none' : `Drift:\n${drift.join('\n')}`,
  ].join('\n');
}
