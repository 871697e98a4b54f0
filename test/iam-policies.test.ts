import { describe, expect, it } from 'vitest';
import {
  EC2_TRUST_POLICY,
  type InstanceRole,
  instanceRolePolicy,
  type PolicyDocument,
  type PolicyStatement,
} from '../src/aws/iam-policies';

const CONTEXT = { deployment: 'acme', region: 'eu-west-1', bucket: 'waveshift-acme-staging' };
const ROLES: InstanceRole[] = ['controller', 'kasm', 'access-server'];
const DOCUMENTS: Record<string, PolicyDocument> = {
  'EC2 trust policy': EC2_TRUST_POLICY,
  ...Object.fromEntries(ROLES.map((r) => [`${r} role`, instanceRolePolicy(r, CONTEXT)])),
};

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
/** Reading actions by IAM's naming; everything else changes something. */
const isRead = (action: string) => /^[a-z0-9-]+:(Get|List|Describe|Head)[A-Za-z]*$/.test(action);
const allows = (doc: PolicyDocument) => doc.Statement.filter((s) => s.Effect === 'Allow');
const allowedActions = (role: InstanceRole) =>
  allows(instanceRolePolicy(role, CONTEXT)).flatMap((s) => list(s.Action));

describe('IAM documents: least privilege', () => {
  for (const [name, document] of Object.entries(DOCUMENTS)) {
    it(`${name}: no write action on Resource "*", no wildcard action`, () => {
      for (const statement of allows(document) as PolicyStatement[]) {
        for (const action of list(statement.Action)) {
          expect(action, `${name}: ${action}`).not.toContain('*');
          if (statement.Principal) continue; // a trust policy names who, not what
          if (!isRead(action)) expect(list(statement.Resource), `${name}: ${action}`).not.toContain('*');
          expect(list(statement.Resource).length, `${name}: ${action} names its resources`).toBeGreaterThan(
            0,
          );
        }
      }
    });
  }

  it('grants each instance only what its scripts call', () => {
    expect(allowedActions('controller').sort()).toEqual(['s3:GetObject', 'ssm:GetParameter']);
    expect(allowedActions('kasm')).toEqual(['ssm:GetParameter']);
    expect(allowedActions('access-server')).toEqual(['ssm:GetParameter']);
    // What a compromised controller must not have: running commands on instances, changing DNS or EC2.
    const controller = JSON.stringify(instanceRolePolicy('controller', CONTEXT));
    // Nor the CA's key: it would mint certificates every client trusts.
    for (const forbidden of ['ssm:SendCommand', 'route53:', 'ec2:', 's3:PutObject', 'tls/ca-key'])
      expect(controller).not.toContain(forbidden);
  });

  it('scopes every resource to this deployment: its parameters, its bucket’s controller prefix', () => {
    expect(
      instanceRolePolicy('controller', CONTEXT)
        .Statement.filter((s) => s.Effect === 'Allow')
        .flatMap((s) => list(s.Resource)),
    ).toEqual([
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/api-key',
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/tls/controller-key',
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/tls/controller-certificate',
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/kasm/oidc-client-secret',
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/idp/client-secret',
      'arn:aws:s3:::waveshift-acme-staging/controller/*',
    ]);
    expect(list(instanceRolePolicy('kasm', CONTEXT).Statement[0]!.Resource)).toEqual([
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/kasm/admin-password',
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/kasm/oidc-client-secret',
    ]);
    expect(list(instanceRolePolicy('access-server', CONTEXT).Statement[0]!.Resource)).toEqual([
      'arn:aws:ssm:eu-west-1:*:parameter/waveshift/acme/access-servers/*',
    ]);
  });

  it('denies reading any other parameter, which the SSM managed policy would allow', () => {
    for (const role of ROLES) {
      const document = instanceRolePolicy(role, CONTEXT);
      const own = document.Statement.find((s) => s.Sid === 'ReadOwnParameters')!;
      const deny = document.Statement.find((s) => s.Effect === 'Deny')!;
      expect(list(deny.Action)).toEqual(
        expect.arrayContaining(['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath']),
      );
      expect(deny.NotResource).toEqual(own.Resource);
    }
  });
});
