import { parameterNames } from './naming';

/**
 * Pure: the IAM documents of the instances' roles, each limited to what its instance's scripts call (the
 * SSM agent's own needs come from the AmazonSSMManagedInstanceCore managed policy attached beside them).
 *
 * - controller: the install script copies its files from the staging bucket's `controller/` prefix and
 *   reads the API key; the controller process itself calls no AWS API.
 * - kasm: the install script reads the Kasm admin password; the OpenID configuration script reads it
 *   and Kasm's OpenID client secret.
 * - access-server: the first boot reads its WireGuard private key.
 *
 * AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on every parameter, and SecureStrings under the
 * default aws/ssm key decrypt for any principal of the account: each document therefore denies reading any
 * parameter but its own, so one instance cannot read another deployment's (or another role's) secrets.
 */
export type InstanceRole = 'controller' | 'kasm' | 'access-server';

export interface PolicyContext {
  deployment: string;
  region: string;
  /** The staging bucket; only the controller reads from it. */
  bucket?: string;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: Record<string, string>;
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Who may take an instance role: EC2, for the instance profile. */
export const EC2_TRUST_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

const PARAMETER_READS = [
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'ssm:GetParameterHistory',
];

/** The parameters each role reads (ARNs), and any other statement it needs. */
function needs(role: InstanceRole, p: PolicyContext): { parameters: string[]; extra: PolicyStatement[] } {
  const names = parameterNames(p.deployment);
  const arn = (path: string) => `arn:aws:ssm:${p.region}:*:parameter${path}`;
  switch (role) {
    case 'controller':
      if (!p.bucket) throw new RangeError('the controller policy needs the staging bucket');
      return {
        // What the controller's install reads: its API key, TLS key and certificate, Kasm's OpenID client
        // secret, and the upstream identity provider's client secret (when there is one).
        parameters: [
          arn(names.apiKey),
          arn(names.controllerTlsKey),
          arn(names.controllerTlsCertificate),
          arn(names.kasmOidcClientSecret),
          arn(names.idpClientSecret),
        ],
        extra: [
          {
            Sid: 'ReadStagedController',
            Effect: 'Allow',
            Action: ['s3:GetObject'],
            Resource: [`arn:aws:s3:::${p.bucket}/controller/*`],
          },
        ],
      };
    case 'kasm':
      return { parameters: [arn(names.kasmAdminPassword), arn(names.kasmOidcClientSecret)], extra: [] };
    case 'access-server':
      return { parameters: [arn(`${names.root}/access-servers/*`)], extra: [] };
  }
}

export function instanceRolePolicy(role: InstanceRole, p: PolicyContext): PolicyDocument {
  const { parameters, extra } = needs(role, p);
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadOwnParameters', Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: parameters },
      ...extra,
      { Sid: 'NoOtherParameters', Effect: 'Deny', Action: PARAMETER_READS, NotResource: parameters },
    ],
  };
}
