/** Every component a deployment owns, by its `waveshift:component` tag value. */
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
  kasmOidcClientSecret: 'kasm/oidc-client-secret',
  idpClientSecret: 'idp/client-secret',
  caKey: 'tls/ca-key',
  controllerTlsKey: 'tls/controller-key',
  controllerTlsCertificate: 'tls/controller-certificate',
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

/** What a plan changes: an AWS resource, or a part of one (a zone's record, an instance's service). */
export type ChangeKind = ResourceKind | 'dns-record' | 'service';

export interface ComponentRef {
  kind: ChangeKind;
  component: string;
}

/** Access servers, added by `access-servers --add`: one role, security group and profile for all of them. */
export const ACCESS_SERVER_COMPONENT = 'access-server';
export const accessServerComponent = (index: number): string => `access-server-${index}`;
export const accessServerEipComponent = (index: number): string => `access-server-${index}-eip`;
