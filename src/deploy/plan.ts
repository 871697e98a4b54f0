import {
  accessServerComponent,
  accessServerEipComponent,
  desiredAccessServer,
  desiredAccessServerAddress,
} from '../aws/access-servers';
import { type Change, type Fields, type Observed, pending, planDelete, planResource } from '../aws/change';
import { ACCESS_SERVER_COMPONENT, COMPONENT, type ComponentRef } from '../aws/components';
import { desiredRecord, desiredZone, ZONES } from '../aws/dns';
import type { FoundResource } from '../aws/found';
import { desiredInstanceProfile, desiredRole, type PolicyContext, roleName } from '../aws/iam';
import { INSTANCE_HOURLY_USD } from '../aws/instance-types';
import { desiredInstance } from '../aws/instances';
import { desiredInternetGateway } from '../aws/internet-gateway';
import { desiredNatGateway, LIVE_NAT_STATES } from '../aws/nat-gateway';
import { desiredRouteTable } from '../aws/route-tables';
import { desiredSecurityGroup } from '../aws/security-groups';
import { desiredBucket } from '../aws/staging-bucket';
import { desiredSubnet } from '../aws/subnets';
import { desiredVpc } from '../aws/vpc';
import type { WavectlConfig } from '../config/schema';
import type { Current } from './census';
import { planControllerTls, plannedCertificateFacts, servedCertificateFacts } from './controller-tls';
import { KASM_OIDC_SERVICE, plannedKasmOidcFingerprint } from './kasm-oidc-step';
import { controllerInstallation } from './services';

export type { Change } from '../aws/change';

/** What the plan is computed from besides AWS: the config, the scope, and what the services should run. */
export interface PlanInput {
  config: WavectlConfig;
  scope: PolicyContext;
  /** The installation fingerprint each service should carry (its bundle and scripts' hash). */
  fingerprints: { controller: string; kasm: string; kasmOidc: string };
  /** When certificates are judged for renewal (now, unless a test says otherwise). */
  now?: Date;
}

/**
 * What each step of the deploy graph owns, and what it wants given the ids of the steps it needs (`ids`:
 * real ids once created, or a placeholder in a dry run). Health steps own nothing: they are not in a plan.
 */
interface StepSpec {
  refs: readonly ComponentRef[] | ((config: WavectlConfig) => readonly ComponentRef[]);
  desired(input: PlanInput, ids: Record<string, string>, facts: Facts): readonly Fields[];
  /** A step whose changes are not a comparison of fields (certificates: their renewal is decided). */
  plan?(input: PlanInput, current: Current, facts: Facts): Change[];
}

const refsOf = (spec: StepSpec, config: WavectlConfig) =>
  typeof spec.refs === 'function' ? spec.refs(config) : spec.refs;
const servers = (config: WavectlConfig) => config.accessServers.map((a) => a.index);

/** What later steps need to know of earlier ones besides an id (an instance's private address). */
export type Facts = Record<string, Record<string, string>>;

const ref = (kind: ComponentRef['kind'], component: string): ComponentRef => ({ kind, component });
const one = (fields: Fields) => [fields] as const;

export const STEP_SPECS: Record<string, StepSpec> = {
  vpc: { refs: [ref('vpc', COMPONENT.vpc)], desired: () => one(desiredVpc()) },
  'public-subnet': {
    refs: [ref('subnet', COMPONENT.publicSubnet)],
    desired: (_, ids) => one(desiredSubnet('public', ids.vpc!)),
  },
  'private-subnet': {
    refs: [ref('subnet', COMPONENT.privateSubnet)],
    desired: (_, ids) => one(desiredSubnet('private', ids.vpc!)),
  },
  'internet-gateway': {
    refs: [ref('internet-gateway', COMPONENT.internetGateway)],
    desired: (_, ids) => one(desiredInternetGateway(ids.vpc!)),
  },
  'nat-eip': { refs: [ref('elastic-ip', COMPONENT.natEip)], desired: () => one({}) },
  'nat-gateway': {
    refs: [ref('nat-gateway', COMPONENT.natGateway)],
    desired: (_, ids) => one(desiredNatGateway(ids['public-subnet']!, ids['nat-eip']!)),
  },
  'public-route-table': {
    refs: [ref('route-table', COMPONENT.publicRouteTable)],
    desired: (_, ids) =>
      one(
        desiredRouteTable(ids.vpc!, ids['public-subnet']!, { kind: 'gateway', id: ids['internet-gateway']! }),
      ),
  },
  'private-route-table': {
    refs: [ref('route-table', COMPONENT.privateRouteTable)],
    desired: (_, ids) =>
      one(desiredRouteTable(ids.vpc!, ids['private-subnet']!, { kind: 'nat', id: ids['nat-gateway']! })),
  },
  'controller-security-group': {
    refs: [ref('security-group', COMPONENT.controllerSecurityGroup)],
    desired: (_, ids) => one(desiredSecurityGroup('controller', ids.vpc!)),
  },
  'kasm-security-group': {
    refs: [ref('security-group', COMPONENT.kasmSecurityGroup)],
    desired: (_, ids) => one(desiredSecurityGroup('kasm', ids.vpc!)),
  },
  'staging-bucket': {
    refs: [ref('bucket', COMPONENT.stagingBucket)],
    desired: (input) => one(desiredBucket(input.scope.deployment)),
  },
  'controller-role': {
    refs: [ref('iam-role', COMPONENT.controllerRole), ref('instance-profile', COMPONENT.controllerRole)],
    desired: ({ scope }) => [
      desiredRole('controller', scope),
      desiredInstanceProfile(roleName(scope.deployment, scope.region, 'controller')),
    ],
  },
  'kasm-role': {
    refs: [ref('iam-role', COMPONENT.kasmRole), ref('instance-profile', COMPONENT.kasmRole)],
    desired: ({ scope }) => [
      desiredRole('kasm', scope),
      desiredInstanceProfile(roleName(scope.deployment, scope.region, 'kasm')),
    ],
  },
  'api-key': { refs: [ref('parameter', COMPONENT.apiKey)], desired: () => one({}) },
  'kasm-admin-password': { refs: [ref('parameter', COMPONENT.kasmAdminPassword)], desired: () => one({}) },
  'kasm-oidc-client-secret': {
    refs: [ref('parameter', COMPONENT.kasmOidcClientSecret)],
    desired: () => one({}),
  },
  'idp-client-secret': {
    refs: (config) =>
      config.identityProvider === 'local' ? [] : [ref('parameter', COMPONENT.idpClientSecret)],
    desired: () => one({}),
  },
  'controller-zone': {
    refs: [ref('hosted-zone', ZONES.controller.component)],
    desired: ({ scope }) => one(desiredZone(scope.deployment)),
  },
  'kasm-zone': {
    refs: [ref('hosted-zone', ZONES.kasm.component)],
    desired: ({ scope }) => one(desiredZone(scope.deployment)),
  },
  'controller-instance': {
    refs: [ref('instance', COMPONENT.controllerInstance)],
    desired: ({ config }) => one(desiredInstance(config.instances.controller.type)),
  },
  'kasm-instance': {
    refs: [ref('instance', COMPONENT.kasmInstance)],
    desired: ({ config }) => one(desiredInstance(config.instances.kasm.type)),
  },
  'controller-record': {
    refs: [ref('dns-record', ZONES.controller.component)],
    desired: (_, __, facts) => one(desiredRecord(facts['controller-instance']?.privateIp ?? '')),
  },
  'kasm-record': {
    refs: [ref('dns-record', ZONES.kasm.component)],
    desired: (_, __, facts) => one(desiredRecord(facts['kasm-instance']?.privateIp ?? '')),
  },
  'controller-tls': {
    refs: [ref('parameter', COMPONENT.caKey), ref('parameter', COMPONENT.controllerTlsCertificate)],
    desired: () => [],
    plan: (input, current, facts) =>
      planControllerTls(
        input.config,
        current,
        facts['controller-instance']?.privateIp,
        input.now ?? new Date(),
      ),
  },
  'controller-service': {
    refs: [ref('service', 'controller')],
    desired: ({ fingerprints }, _, facts) =>
      one({
        installed: controllerInstallation(
          fingerprints.controller,
          facts['controller-tls']?.certificate,
          facts['idp-client-secret']?.version,
        ),
      }),
  },
  'kasm-service': {
    refs: [ref('service', 'kasm')],
    desired: ({ fingerprints }) => one({ installed: fingerprints.kasm }),
  },
  'kasm-oidc-config': {
    refs: [ref('service', KASM_OIDC_SERVICE)],
    // A CA made or renewed earlier in this run (the TLS step's fact) changes what Kasm must be given.
    desired: ({ fingerprints, scope }, _, facts) => {
      const renewed = facts['controller-tls']?.caCertificate;
      return one({
        configured: renewed ? plannedKasmOidcFingerprint(scope, renewed) : fingerprints.kasmOidc,
      });
    },
  },
  // Access servers are added by `access-servers --add`; deploy keeps what they need as it should be.
  'access-server-role': {
    refs: (config) =>
      servers(config).length === 0
        ? []
        : [ref('iam-role', ACCESS_SERVER_COMPONENT), ref('instance-profile', ACCESS_SERVER_COMPONENT)],
    desired: ({ scope }) => [
      desiredRole('access-server', scope),
      desiredInstanceProfile(roleName(scope.deployment, scope.region, ACCESS_SERVER_COMPONENT)),
    ],
  },
  'access-server-security-group': {
    refs: (config) => (servers(config).length === 0 ? [] : [ref('security-group', ACCESS_SERVER_COMPONENT)]),
    desired: (_, ids) => one(desiredSecurityGroup('access-server', ids.vpc!)),
  },
  'access-servers': {
    refs: (config) =>
      servers(config).flatMap((k) => [
        ref('instance', accessServerComponent(k)),
        ref('elastic-ip', accessServerEipComponent(k)),
      ]),
    desired: ({ config }, ids) =>
      servers(config).flatMap((k) => [
        desiredAccessServer(),
        desiredAccessServerAddress(ids[accessServerComponent(k)] ?? pending(accessServerComponent(k))),
      ]),
  },
};

export const PLANNED_STEPS = Object.keys(STEP_SPECS);

/** Where a service's fingerprint is recorded: a fact (tag) of an instance, compared as a field. */
const SERVICE_RECORDS: Record<string, { instance: string; fact: string; field: string }> = {
  [KASM_OIDC_SERVICE]: { instance: COMPONENT.kasmInstance, fact: 'kasmOidc', field: 'configured' },
};

const live = (r: FoundResource) => r.kind !== 'nat-gateway' || LIVE_NAT_STATES.includes(r.state ?? '');

/** Pure: the resources found for `r` (the first is the one in use, any other is a duplicate). */
export function matches(current: Current, r: ComponentRef): Observed[] {
  if (r.kind === 'dns-record') {
    const record = current.records[r.component];
    return record ? [record] : [];
  }
  if (r.kind === 'service') {
    const recorded = SERVICE_RECORDS[r.component] ?? {
      instance: r.component,
      fact: 'installed',
      field: 'installed',
    };
    const instance = current.resources.find(
      (f) => f.kind === 'instance' && f.component === recorded.instance,
    );
    return instance
      ? [{ id: instance.id, fields: { [recorded.field]: instance.facts?.[recorded.fact] ?? '' } }]
      : [];
  }
  return current.resources.filter((f) => f.kind === r.kind && f.component === r.component && live(f));
}

/** Pure: each step's id and facts as found, or a placeholder for what a step has yet to create. */
export function knownIds(
  current: Current,
  config: WavectlConfig,
): { ids: Record<string, string>; facts: Facts } {
  const ids: Record<string, string> = {};
  const facts: Facts = {};
  for (const [step, spec] of Object.entries(STEP_SPECS)) {
    const first = refsOf(spec, config)[0];
    if (!first) continue;
    const found = matches(current, first)[0] as FoundResource | undefined;
    ids[step] = found?.id ?? pending(step);
    if (found && 'facts' in found && found.facts) facts[step] = found.facts;
    else if (first.kind === 'instance') facts[step] = { privateIp: pending(step) };
  }
  for (const k of servers(config)) {
    const component = accessServerComponent(k);
    ids[component] = matches(current, ref('instance', component))[0]?.id ?? pending(component);
  }
  facts['controller-tls'] = servedCertificateFacts(current.controllerCertificatePem);
  return { ids, facts };
}

/** Pure: the changes of one step, given what its dependencies turned out to be. */
export function planStep(
  step: string,
  current: Current,
  input: PlanInput,
  ids: Record<string, string>,
  facts: Facts,
): Change[] {
  const spec = STEP_SPECS[step];
  if (!spec) return [];
  if (spec.plan) return spec.plan(input, current, facts);
  const desired = spec.desired(input, ids, facts);
  return refsOf(spec, input.config).map((r, i) => planResource(r, matches(current, r)[0], desired[i]!));
}

/**
 * Pure: resources of the deployment nothing wants — second copies, access servers no longer recorded, and
 * strays tagged by hand. Parameters are left alone: sites and access servers keep their keys there.
 */
export function planStrays(current: Current, config: WavectlConfig): Change[] {
  const claimed = new Set<Observed>();
  for (const spec of Object.values(STEP_SPECS))
    for (const r of refsOf(spec, config)) {
      const first = matches(current, r)[0];
      if (first) claimed.add(first);
    }
  return current.resources
    .filter((f) => live(f) && !claimed.has(f) && f.kind !== 'parameter')
    .map((f) => planDelete({ kind: f.kind, component: f.component }, f));
}

/** Pure: the whole plan — every step's changes with the ids known now, then the strays to delete. */
export function planDeployment(current: Current, input: PlanInput): Change[] {
  const { ids, facts } = knownIds(current, input.config);
  // A certificate the TLS step will issue is not known yet: the controller's installation changes with it.
  facts['controller-tls'] = plannedCertificateFacts(
    planStep('controller-tls', current, input, ids, facts),
    current,
  );
  return [
    ...PLANNED_STEPS.flatMap((step) => planStep(step, current, input, ids, facts)),
    ...planStrays(current, input.config),
  ];
}

/** USD per month, on-demand, us-east-1 list prices (a planning figure, not a bill). */
export const PRICES = {
  hoursPerMonth: 730,
  gp3PerGbMonth: 0.08,
  natGatewayHourly: 0.045,
  /** Public IPv4 addresses are billed since February 2024, attached or not. */
  publicIpv4Hourly: 0.005,
} as const;

export interface CostLine {
  item: string;
  monthlyUsd: number;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Pure: the estimated monthly cost of the deployment the config describes (data transfer excluded). */
export function estimateMonthlyCost(config: WavectlConfig): { lines: CostLine[]; totalUsd: number } {
  const h = PRICES.hoursPerMonth;
  const instance = (type: string) => (INSTANCE_HOURLY_USD[type] ?? 0) * h;
  const { controller, kasm, accessServer } = config.instances;
  const servers = config.accessServers.length;
  const lines: CostLine[] = [
    { item: `controller instance ${controller.type}`, monthlyUsd: instance(controller.type) },
    {
      item: `controller volume ${controller.volumeGb} GB gp3`,
      monthlyUsd: controller.volumeGb * PRICES.gp3PerGbMonth,
    },
    { item: `Kasm instance ${kasm.type}`, monthlyUsd: instance(kasm.type) },
    { item: `Kasm volume ${kasm.volumeGb} GB gp3`, monthlyUsd: kasm.volumeGb * PRICES.gp3PerGbMonth },
    { item: 'NAT gateway (hours, without data processed)', monthlyUsd: PRICES.natGatewayHourly * h },
    { item: 'Elastic IP of the NAT gateway', monthlyUsd: PRICES.publicIpv4Hourly * h },
  ];
  if (servers > 0) {
    lines.push(
      {
        item: `${servers} access server(s) ${accessServer.type}`,
        monthlyUsd: servers * instance(accessServer.type),
      },
      // Access servers use 8 GB root volumes and one Elastic IP each.
      { item: `${servers} access server volume(s) 8 GB gp3`, monthlyUsd: servers * 8 * PRICES.gp3PerGbMonth },
      { item: `${servers} access server Elastic IP(s)`, monthlyUsd: servers * PRICES.publicIpv4Hourly * h },
    );
  }
  const rounded = lines.map((l) => ({ ...l, monthlyUsd: round(l.monthlyUsd) }));
  return { lines: rounded, totalUsd: round(rounded.reduce((sum, l) => sum + l.monthlyUsd, 0)) };
}
