import { DescribeInstanceStatusCommand } from '@aws-sdk/client-ec2';
import type { Change } from '../aws/change';
import { call } from '../aws/retry';
import type { Context } from '../context';
import { fetchControllerHealth } from '../controller-client/health';
import { renderTable } from '../io/output';
import type { FoundResource } from './census';
import { readAndPlan } from './deploy';
import { changeLines } from './plan-text';
import { type Health, probeService } from './services';
import { type StatusVerdict, statusVerdict } from './status-verdict';

export interface InstanceHealth {
  component: string;
  instanceId: string;
  state: string;
  /** EC2 status checks: "ok", "impaired", "initializing", or "not running". */
  checks: string;
}

export interface StatusResult {
  deployment: string;
  region: string;
  endpoint?: string;
  resources: FoundResource[];
  instances: InstanceHealth[];
  controller: Health;
  kasm: Health;
  /** Every change `deploy` would make: what differs from the deployment as it should be. */
  drift: Change[];
  /** The drift in words, one line per difference. */
  driftLines: string[];
  inSync: boolean;
  /** In sync and nothing unhealthy (unverified is not unhealthy): what `status` exits 0 on. */
  ok: boolean;
  verdict: StatusVerdict;
  /** The deployment CA and the controller certificate's expiry, as recorded by `deploy`. */
  tls: { caFingerprint: string; caExpires: string; controllerCertificateExpires: string | null } | null;
}

/** status = read all → plan all: drift is every change that is not a keep; plus instance and service health. */
export async function deploymentStatus(ctx: Context): Promise<StatusResult> {
  const config = await ctx.loadConfig();
  const { aws, current, changes } = await readAndPlan(ctx, config);
  const { clients, emulator, endpointUrl, scope } = aws;
  const found = current.resources.filter((r) => r.kind === 'instance');
  const running = found.filter((r) => r.state === 'running').map((r) => r.id);
  const statuses =
    running.length === 0
      ? []
      : ((
          await call('EC2 DescribeInstanceStatus', () =>
            clients.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: running })),
          )
        ).InstanceStatuses ?? []);
  const instances: InstanceHealth[] = found.map((r) => {
    const s = statuses.find((x) => x.InstanceId === r.id);
    const checks = r.state !== 'running' ? 'not running' : (s?.InstanceStatus?.Status ?? 'initializing');
    return { component: r.component, instanceId: r.id, state: r.state ?? '', checks };
  });

  const probe = async (component: 'controller' | 'kasm'): Promise<Health> => {
    const instance = found.find((r) => r.component === component);
    if (!instance) return { health: 'unhealthy', detail: `no ${component} instance` };
    if (instance.state !== 'running')
      return { health: 'unhealthy', detail: `the ${component} instance is ${instance.state}` };
    return ctx.io.track(`${component} health`, () =>
      probeService(clients.ssm, component, instance.id, {
        emulator,
        comment: `wavectl status: ${component} health`,
      }),
    );
  };
  // With controller.url (a local controller, or an operator on the VPN) the controller answers directly.
  const controllerUrl = config.controller.url;
  const [controller, kasm] = await Promise.all([
    controllerUrl
      ? ctx.io.track('controller health', () =>
          fetchControllerHealth(controllerUrl, { ca: config.tls?.caCertificate }),
        )
      : probe('controller'),
    probe('kasm'),
  ]);
  const drift = changes.filter((c) => c.action !== 'keep');
  const inSync = drift.length === 0;
  const result = {
    deployment: scope.deployment,
    region: scope.region,
    ...(endpointUrl ? { endpoint: endpointUrl } : {}),
    resources: current.resources,
    instances,
    controller,
    kasm,
    drift,
    driftLines: changeLines(drift),
    inSync,
    tls: config.tls
      ? {
          caFingerprint: config.tls.caFingerprint,
          caExpires: config.tls.caExpires,
          controllerCertificateExpires: config.tls.controllerCertificateExpires ?? null,
        }
      : null,
  };
  const verdict = statusVerdict(result);
  return { ...result, ok: verdict.ok, verdict };
}

const healthText = (h: Health) =>
  `${h.health} (${h.detail}${h.health === 'unverified' ? `; ${h.reason}` : ''})`;

export function renderStatus(s: StatusResult): string {
  const rows = s.resources.map((r) => [r.kind, r.component, r.id, r.state ?? '']);
  const health = s.instances.map((i) => [i.component, i.instanceId, i.state, i.checks]);
  return [
    `Deployment ${s.deployment} (${s.region})${s.endpoint ? ` at ${s.endpoint}` : ''}: ${s.resources.length} resources`,
    renderTable(['kind', 'component', 'id', 'state'], rows),
    '',
    health.length > 0 ? renderTable(['instance', 'id', 'state', 'status checks'], health) : 'No instances.',
    `Controller: ${healthText(s.controller)}`,
    `Kasm: ${healthText(s.kasm)}`,
    s.tls
      ? `TLS: CA ${s.tls.caFingerprint} (until ${s.tls.caExpires}), controller certificate until ${s.tls.controllerCertificateExpires ?? 'not issued'}`
      : 'TLS: no deployment CA yet (`wavectl deploy` creates it)',
    s.inSync
      ? 'Drift: none'
      : `Drift (\`wavectl deploy\` repairs it):\n${s.driftLines.map((l) => `  ${l}`).join('\n')}`,
  ].join('\n');
}
