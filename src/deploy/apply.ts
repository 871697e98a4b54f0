import { renderAccessServerUserData } from '../access-servers/user-data';
import { applyAccessServer, launchAccessServer } from '../aws/access-servers';
import { applyApiKey, applyKasmAdminPassword, applyKasmOidcClientSecret } from '../aws/api-key';
import type { Change } from '../aws/change';
import { ACCESS_SERVER_COMPONENT, accessServerComponent, accessServerEipComponent } from '../aws/components';
import { applyRecord, applyZone } from '../aws/dns';
import type { FoundResource } from '../aws/found';
import { applyInstanceProfile, applyRole, type RoleComponent, roleName } from '../aws/iam';
import { putIdpClientSecret } from '../aws/idp-client-secret';
import {
  applyInstance,
  type FoundInstance,
  launchInstance,
  resolveAmi,
  TAG_INSTALLED,
  TAG_KASM_OIDC,
  tagInstance,
} from '../aws/instances';
import { applyInternetGateway } from '../aws/internet-gateway';
import { allocateAddress, applyNatGateway } from '../aws/nat-gateway';
import type { WaitOptions } from '../aws/retry';
import { applyRouteTable } from '../aws/route-tables';
import { applySecurityGroup, type SecurityGroupName } from '../aws/security-groups';
import { applyBucket } from '../aws/staging-bucket';
import { applySubnet, chooseAvailabilityZone } from '../aws/subnets';
import { applyVpc } from '../aws/vpc';
import type { AccessServerRecord, WavectlConfig } from '../config/schema';
import type { CensusClients, CensusScope, Current } from './census';
import { applyControllerTls, servedCertificateFacts, type TlsRecord } from './controller-tls';
import { kasmOidcFingerprint } from './kasm-oidc-script';
import { kasmOidcScriptFor } from './kasm-oidc-step';
import { type Facts, matches } from './plan';
import { installService, runOnInstance, type ServiceInstaller } from './services';

/** What applying a step needs: the clients, what was read, and what earlier steps produced. */
export interface ApplyEnv {
  clients: CensusClients;
  scope: CensusScope;
  config: WavectlConfig;
  wait: WaitOptions;
  current: Current;
  ids: Record<string, string>;
  facts: Facts;
  note(message: string): void;
  progress(message: string): void;
  /** Records a fact in wavectl.json's resource cache (the Availability Zone). */
  remember(key: string, value: string): void;
  /** Absent where no service is installed (access-servers --add). */
  services?: ServiceInstaller;
  /** Called when an access server got a new instance or address: its record must follow. */
  accessServerChanged(record: AccessServerRecord): void;
  /** Called when the CA or the controller's certificate was made or renewed: wavectl.json records the CA. */
  tlsChanged(record: TlsRecord): void;
  /** The upstream identity provider's client secret, obtained before the steps run when the plan stores it. */
  idpClientSecret?: string;
}

export const AVAILABILITY_ZONE_KEY = 'availability-zone';

/** The resource a step's change was planned against (the first live match, as the plan took it). */
const found = (env: ApplyEnv, kind: FoundResource['kind'], component: string) =>
  matches(env.current, { kind, component })[0] as FoundResource | undefined;

/** The zone both subnets live in: the other subnet's, the recorded one, or one offering every type. */
async function availabilityZone(env: ApplyEnv): Promise<string> {
  const existing = env.current.resources.find((f) => f.kind === 'subnet' && f.facts?.availabilityZone)?.facts
    ?.availabilityZone;
  if (existing) return existing;
  const recorded =
    env.facts['public-subnet']?.availabilityZone ??
    env.facts['private-subnet']?.availabilityZone ??
    env.config.resources[AVAILABILITY_ZONE_KEY];
  if (recorded) return recorded;
  const { controller, kasm, accessServer } = env.config.instances;
  const zone = await chooseAvailabilityZone(env.clients.ec2, [controller.type, kasm.type, accessServer.type]);
  env.remember(AVAILABILITY_ZONE_KEY, zone);
  return zone;
}

async function applyRoleStep(env: ApplyEnv, component: RoleComponent, changes: Change[]): Promise<string> {
  const { iam } = env.clients;
  const name = await applyRole(iam, component, env.scope, changes[0]!);
  await applyInstanceProfile(
    iam,
    env.scope.deployment,
    component,
    roleName(env.scope.deployment, env.scope.region, component),
    changes[1]!,
  );
  return name;
}

async function applyInstanceStep(env: ApplyEnv, component: 'controller' | 'kasm', change: Change) {
  const { ec2, ssm } = env.clients;
  const size = env.config.instances[component];
  const launch = async () => {
    const ami = await resolveAmi(ec2, ssm, component, env.wait.emulator);
    if (ami.note) env.note(ami.note);
    return launchInstance(
      ec2,
      {
        deployment: env.scope.deployment,
        component,
        imageId: ami.imageId,
        rootDeviceName: ami.rootDeviceName,
        rootVolumeGb: ami.rootVolumeGb,
        instanceType: size.type,
        volumeGb: size.volumeGb,
        subnetId: env.ids['private-subnet']!,
        securityGroupId: env.ids[`${component}-security-group`]!,
        instanceProfileName: roleName(env.scope.deployment, env.scope.region, component),
        vpcId: env.ids.vpc!,
      },
      env.wait,
    );
  };
  const current = found(env, 'instance', component);
  // Kept as read: its facts are those of the read, no call needed.
  if (change.action === 'keep' && current) return current.id;
  const instance = await applyInstance(ec2, change, current, launch, env.wait);
  env.facts[`${component}-instance`] = {
    privateIp: instance.privateIp ?? '',
    installed: instance.tags[TAG_INSTALLED] ?? '',
    kasmOidc: instance.tags[TAG_KASM_OIDC] ?? '',
  };
  return instance.instanceId;
}

async function applyAccessServersStep(env: ApplyEnv, changes: Change[]): Promise<string> {
  const { ec2, ssm } = env.clients;
  const { deployment, region } = env.scope;
  let ami: Awaited<ReturnType<typeof resolveAmi>> | undefined;
  const done: string[] = [];
  for (const record of env.config.accessServers) {
    const component = accessServerComponent(record.index);
    const instance = changes.find(
      (c) => c.resource.kind === 'instance' && c.resource.component === component,
    )!;
    const address = changes.find(
      (c) =>
        c.resource.kind === 'elastic-ip' && c.resource.component === accessServerEipComponent(record.index),
    )!;
    const currentInstance = found(env, 'instance', component);
    const currentAddress = found(env, 'elastic-ip', accessServerEipComponent(record.index));
    if (instance.action === 'keep' && address.action === 'keep') {
      const publicIp = currentAddress?.facts?.publicIp ?? '';
      if (record.instanceId !== currentInstance?.id || record.publicIp !== publicIp)
        env.accessServerChanged({ ...record, instanceId: currentInstance?.id, publicIp, registered: false });
      continue;
    }
    const launch = async (): Promise<FoundInstance> => {
      ami ??= await resolveAmi(ec2, ssm, 'controller', env.wait.emulator);
      return launchAccessServer(
        ec2,
        {
          deployment,
          component,
          imageId: ami.imageId,
          rootDeviceName: ami.rootDeviceName,
          rootVolumeGb: ami.rootVolumeGb,
          instanceType: env.config.instances.accessServer.type,
          subnetId: env.ids['public-subnet']!,
          securityGroupId: env.ids['access-server-security-group']!,
          instanceProfileName: roleName(deployment, region, ACCESS_SERVER_COMPONENT),
          vpcId: env.ids.vpc!,
          userData: renderAccessServerUserData({
            deployment,
            region,
            index: record.index,
            listenPort: record.listenPort,
          }),
        },
        env.wait,
      );
    };
    const result = await applyAccessServer(
      ec2,
      deployment,
      record.index,
      { instance, address },
      { instance: currentInstance, address: currentAddress },
      launch,
      env.wait,
    );
    done.push(result.instanceId);
    if (result.instanceId !== record.instanceId || result.publicIp !== record.publicIp) {
      env.accessServerChanged({
        ...record,
        instanceId: result.instanceId,
        publicIp: result.publicIp,
        registered: false,
      });
    }
  }
  return done.join(',');
}

/**
 * Gives Kasm the OpenID configuration for the CA this run ends with (the TLS step's new one, or the recorded
 * one), unless the Kasm instance records having been given exactly that: a re-deploy costs no call here.
 */
async function applyKasmOidcStep(env: ApplyEnv): Promise<string> {
  const ca = env.facts['controller-tls']?.caCertificate ?? env.config.tls?.caCertificate;
  if (!ca) throw new Error('kasm-oidc-config ran before the deployment CA was made');
  const script = kasmOidcScriptFor(env.scope, ca);
  const fingerprint = kasmOidcFingerprint(script);
  if (env.facts['kasm-instance']?.kasmOidc === fingerprint) return fingerprint;
  if (!env.services) throw new Error('no service installer for kasm-oidc-config');
  const instanceId = env.ids['kasm-instance']!;
  const run = await runOnInstance(env.services, instanceId, script, {
    what: "configuring Kasm's OpenID sign-in",
    comment: 'wavectl deploy: configure kasm oidc',
    timeoutSeconds: 900,
  });
  for (const line of run.stdout.split('\n').filter((l) => l.startsWith('kasm-oidc: '))) env.progress(line);
  await tagInstance(env.clients.ec2, instanceId, TAG_KASM_OIDC, fingerprint);
  env.facts['kasm-instance'] = { ...env.facts['kasm-instance'], kasmOidc: fingerprint };
  return fingerprint;
}

/** Applies one step's changes (from `planStep`); returns the id later steps refer to. */
export async function applyStep(step: string, changes: Change[], env: ApplyEnv): Promise<string> {
  const { ec2, route53, s3, ssm } = env.clients;
  const { deployment } = env.scope;
  const { ids } = env;
  const [change] = changes;
  switch (step) {
    case 'vpc':
      return applyVpc(ec2, deployment, change!);
    case 'public-subnet':
    case 'private-subnet': {
      const zone = change!.action === 'create' ? await availabilityZone(env) : '';
      // The other subnet is placed in the same zone (the NAT gateway is zonal).
      if (zone) env.facts[step] = { ...env.facts[step], availabilityZone: zone };
      return applySubnet(
        ec2,
        deployment,
        step === 'public-subnet' ? 'public' : 'private',
        change!,
        ids.vpc!,
        zone,
      );
    }
    case 'internet-gateway':
      return applyInternetGateway(ec2, deployment, change!, ids.vpc!);
    case 'nat-eip':
      return change!.action === 'create'
        ? (await allocateAddress(ec2, deployment, 'nat-eip')).allocationId
        : change!.id!;
    case 'nat-gateway': {
      const address = env.current.resources.find((f) => f.kind === 'elastic-ip' && f.id === ids['nat-eip']);
      return applyNatGateway(
        ec2,
        deployment,
        change!,
        {
          subnetId: ids['public-subnet']!,
          allocationId: ids['nat-eip']!,
          addressAssociated: address?.state === 'associated',
        },
        { ...env.wait, progress: env.progress },
      );
    }
    case 'public-route-table':
    case 'private-route-table': {
      const which = step === 'public-route-table' ? 'public' : 'private';
      return applyRouteTable(ec2, deployment, which, change!, found(env, 'route-table', step), {
        vpcId: ids.vpc!,
        subnetId: ids[`${which}-subnet`]!,
        route:
          which === 'public'
            ? { kind: 'gateway', id: ids['internet-gateway']! }
            : { kind: 'nat', id: ids['nat-gateway']! },
      });
    }
    case 'controller-security-group':
    case 'kasm-security-group':
    case 'access-server-security-group': {
      const group = step.replace(/-security-group$/, '') as SecurityGroupName;
      return applySecurityGroup(
        ec2,
        deployment,
        group,
        change!,
        found(env, 'security-group', group),
        ids.vpc!,
      );
    }
    case 'staging-bucket':
      return applyBucket(s3, env.scope, change!);
    case 'controller-role':
    case 'kasm-role':
    case 'access-server-role':
      return applyRoleStep(env, step.replace(/-role$/, '') as RoleComponent, changes);
    case 'api-key':
      return applyApiKey(ssm, deployment, change!);
    case 'kasm-admin-password':
      return applyKasmAdminPassword(ssm, deployment, change!);
    case 'kasm-oidc-client-secret':
      return applyKasmOidcClientSecret(ssm, deployment, change!);
    case 'idp-client-secret': {
      if (change!.action !== 'create') return change!.id!;
      if (!env.idpClientSecret) throw new Error('the identity provider client secret was not obtained');
      const stored = await putIdpClientSecret(ssm, deployment, env.idpClientSecret);
      env.facts[step] = { version: stored.version };
      return stored.name;
    }
    case 'controller-tls': {
      const privateIp = env.facts['controller-instance']?.privateIp;
      const { id, record, certificatePem } = await applyControllerTls(ssm, env.config, changes, privateIp);
      if (record) env.tlsChanged(record);
      // The CA this run ends with, for Kasm's OpenID step: only when this run made or renewed it.
      env.facts['controller-tls'] = {
        ...servedCertificateFacts(certificatePem ?? env.current.controllerCertificatePem),
        ...(record ? { caCertificate: record.caCertificate } : {}),
      };
      return id;
    }
    case 'controller-zone':
    case 'kasm-zone':
      return applyZone(
        route53,
        env.scope,
        step === 'controller-zone' ? 'controller' : 'kasm',
        change!,
        ids.vpc!,
      );
    case 'controller-instance':
    case 'kasm-instance':
      return applyInstanceStep(env, step === 'controller-instance' ? 'controller' : 'kasm', change!);
    case 'controller-record':
    case 'kasm-record': {
      const key = step === 'controller-record' ? 'controller' : 'kasm';
      const ip = env.facts[`${key}-instance`]?.privateIp ?? '';
      await applyRecord(route53, ids[`${key}-zone`]!, key, change!, ip);
      return `${key} A ${ip}`;
    }
    case 'controller-service':
    case 'kasm-service': {
      const component = step === 'controller-service' ? 'controller' : 'kasm';
      const instanceId = ids[`${component}-instance`]!;
      if (change!.action !== 'keep') {
        const fingerprint = change!.after!.installed as string;
        if (!env.services) throw new Error(`no service installer for ${step}`);
        await installService(env.services, component, instanceId);
        await tagInstance(ec2, instanceId, TAG_INSTALLED, fingerprint);
        return fingerprint;
      }
      return env.facts[`${component}-instance`]?.installed ?? '';
    }
    case 'kasm-oidc-config':
      return applyKasmOidcStep(env);
    case 'access-servers':
      return applyAccessServersStep(env, changes);
    default:
      throw new Error(`no apply for step ${step}`);
  }
}
