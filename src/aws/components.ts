/**
 * Every component a deployment owns, by its `waveshift:component` tag value. `status` compares what it
 * finds by tag with this list (drift), and `destroy` knows the kinds; resources of other parts (access
 * servers) are matched by the patterns below, so destroy stays tag-driven and deletes them too.
 */
export const COMPONENT = {
  vpc: 'vpc',
  publicSubnet: 'public-subnet',
  privateSubnet: 'private-subnet',
  internetGateway: 'internet-gateway',
  natEip: 'nat-eip',
  natGateway: 'nat-gateway',
  publicRouteTable: 'public-route-table',
  privateRouteTable: 'private-route-table',
  controllerSecurityGroup: 'controller',
  kasmSecurityGroup: 'kasm',
  controllerRole: 'controller',
  kasmRole: 'kasm',
  controllerZone: 'controller-zone',
  kasmZone: 'kasm-zone',
  controllerInstance: 'controller',
  kasmInstance: 'kasm',
  apiKey: 'api-key',
  kasmAdminPassword: 'kasm/admin-password',
  stagingBucket: 'staging',
} as const;

export type InstanceComponent = 'controller' | 'kasm';

/** Kinds of AWS resource wavectl creates; a component name is unique within its kind. */
export type ResourceKind =
  | 'vpc'
  | 'subnet'
  | 'internet-gateway'
  | 'elastic-ip'
  | 'nat-gateway'
  | 'route-table'
  | 'security-group'
  | 'iam-role'
  | 'instance-profile'
  | 'hosted-zone'
  | 'instance'
  | 'parameter'
  | 'bucket';

export interface ComponentRef {
  kind: ResourceKind;
  component: string;
}

/** What `deploy` creates and `status` expects, one entry per resource. */
export const CORE_RESOURCES: readonly ComponentRef[] = [
  { kind: 'vpc', component: COMPONENT.vpc },
  { kind: 'subnet', component: COMPONENT.publicSubnet },
  { kind: 'subnet', component: COMPONENT.privateSubnet },
  { kind: 'internet-gateway', component: COMPONENT.internetGateway },
  { kind: 'elastic-ip', component: COMPONENT.natEip },
  { kind: 'nat-gateway', component: COMPONENT.natGateway },
  { kind: 'route-table', component: COMPONENT.publicRouteTable },
  { kind: 'route-table', component: COMPONENT.privateRouteTable },
  { kind: 'security-group', component: COMPONENT.controllerSecurityGroup },
  { kind: 'security-group', component: COMPONENT.kasmSecurityGroup },
  { kind: 'iam-role', component: COMPONENT.controllerRole },
  { kind: 'iam-role', component: COMPONENT.kasmRole },
  { kind: 'instance-profile', component: COMPONENT.controllerRole },
  { kind: 'instance-profile', component: COMPONENT.kasmRole },
  { kind: 'hosted-zone', component: COMPONENT.controllerZone },
  { kind: 'hosted-zone', component: COMPONENT.kasmZone },
  { kind: 'instance', component: COMPONENT.controllerInstance },
  { kind: 'instance', component: COMPONENT.kasmInstance },
  { kind: 'parameter', component: COMPONENT.apiKey },
  { kind: 'parameter', component: COMPONENT.kasmAdminPassword },
  { kind: 'bucket', component: COMPONENT.stagingBucket },
];

/**
 * Resources other parts of wavectl add to a deployment (access servers: helper C). They are expected, not
 * drift, and destroy removes them with the rest.
 */
export const EXTRA_COMPONENT_PATTERNS: readonly { kind: ResourceKind; pattern: RegExp }[] = [
  { kind: 'instance', pattern: /^access-server-\d+$/ },
  { kind: 'elastic-ip', pattern: /^access-server-\d+-eip$/ },
  { kind: 'security-group', pattern: /^access-server$/ },
  { kind: 'iam-role', pattern: /^access-server$/ },
  { kind: 'instance-profile', pattern: /^access-server$/ },
  { kind: 'parameter', pattern: /.*/ },
];

export function isExpectedComponent(kind: ResourceKind, component: string): boolean {
  return (
    CORE_RESOURCES.some((r) => r.kind === kind && r.component === component) ||
    EXTRA_COMPONENT_PATTERNS.some((p) => p.kind === kind && p.pattern.test(component))
  );
}
