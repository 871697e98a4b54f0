import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { parameterNames } from '../aws/naming';
import { waitManaged } from '../aws/ssm-managed';
import { runShellScript, type ShellScriptResult } from '../aws/ssm-run';
import { contentKey, stageObject } from '../aws/staging-bucket';
import type { UpstreamIdentityProvider } from '../config/schema';
import { WavectlError } from '../errors';
import type { ControllerArtifacts } from './controller-artifacts';
import { OIDC_ISSUER } from './kasm-oidc';
import {
  CONTROLLER_HEALTH_SCRIPT,
  controllerInstallScript,
  KASM_HEALTH_SCRIPT,
  kasmInstallScript,
} from './service-scripts';

type ServiceComponent = 'controller' | 'kasm';

/** What installing and probing the services needs. */
export interface ServiceInstaller {
  ssm: SSMClient;
  s3: S3Client;
  deployment: string;
  region: string;
  bucket: string;
  emulator: boolean;
  artifacts: ControllerArtifacts;
  /** The upstream identity provider the controller delegates sign-in to, if any. */
  upstream?: UpstreamIdentityProvider;
  note(message: string): void;
  debug(message: string): void;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

const kasmScript = (deployment: string, region: string) =>
  kasmInstallScript({ region, adminPasswordParameter: parameterNames(deployment).kasmAdminPassword });

function controllerKeys(artifacts: ControllerArtifacts) {
  return {
    bundleKey: contentKey('controller', artifacts.bundle, '.cjs'),
    installScriptKey: contentKey('controller', artifacts.installScript, '.sh'),
    unitKey: contentKey('controller', artifacts.unit, '.service'),
  };
}

/** Pure: what each service's installation is, as a fingerprint recorded on its instance once installed. */
export function serviceFingerprints(
  artifacts: ControllerArtifacts,
  scope: { deployment: string; region: string },
  upstream?: UpstreamIdentityProvider,
): { controller: string; kasm: string } {
  const k = controllerKeys(artifacts);
  const settings = upstream ? `|${JSON.stringify(upstream)}` : '';
  return {
    controller: `controller-${hash(`${k.bundleKey}|${k.installScriptKey}|${k.unitKey}${settings}`)}`,
    kasm: `kasm-${hash(kasmScript(scope.deployment, scope.region))}`,
  };
}

/**
 * Pure: the controller's installation as its instance's tag records it: its files, the TLS certificate the
 * install copied from SSM (`certificate` of the `controller-tls` facts), and the version of the upstream
 * identity provider's client secret it read (`version` of the `idp-client-secret` facts). The controller
 * reads both only at start (systemd's LoadCredential, its environment file), so a renewed certificate or a
 * rotated secret must be installed again to be used: either makes a new installation, and deploy re-runs
 * the install, which fetches them and restarts the service.
 */
export function controllerInstallation(
  files: string,
  certificate: string | undefined,
  idpSecretVersion?: string,
): string {
  const tls = certificate ? `.tls-${certificate}` : '';
  return `${files}${tls}${idpSecretVersion ? `-s${idpSecretVersion}` : ''}`;
}

/** Installs the service on its instance through SSM Run Command (the controller's files staged in S3). */
export async function installService(
  installer: ServiceInstaller,
  component: ServiceComponent,
  instanceId: string,
): Promise<void> {
  const { s3, bucket, region, deployment, artifacts } = installer;
  let script: string;
  if (component === 'controller') {
    const keys = controllerKeys(artifacts);
    const names = parameterNames(deployment);
    await stageObject(s3, bucket, keys.bundleKey, artifacts.bundle);
    await stageObject(s3, bucket, keys.installScriptKey, artifacts.installScript);
    await stageObject(s3, bucket, keys.unitKey, artifacts.unit);
    script = controllerInstallScript({
      region,
      bucket,
      ...keys,
      apiKeyParameter: names.apiKey,
      tlsParameters: {
        key: names.controllerTlsKey,
        certificate: names.controllerTlsCertificate,
      },
      oidc: { issuer: OIDC_ISSUER, clientSecretParameter: names.kasmOidcClientSecret },
      ...(installer.upstream
        ? {
            upstream: {
              settings: installer.upstream,
              clientSecretParameter: names.idpClientSecret,
            },
          }
        : {}),
    });
  } else {
    script = kasmScript(deployment, region);
  }
  await runOnInstance(installer, instanceId, script, {
    what: `installing the ${component} service`,
    comment: `wavectl deploy: install ${component}`,
    timeoutSeconds: component === 'controller' ? 900 : 3600,
  });
}

/**
 * Runs one of deploy's scripts on an instance through SSM Run Command once the instance is managed; a
 * command that did not succeed is an error naming the command and the last lines it printed.
 */
export async function runOnInstance(
  installer: Pick<ServiceInstaller, 'ssm' | 'emulator' | 'note' | 'debug'>,
  instanceId: string,
  script: string,
  command: { what: string; comment: string; timeoutSeconds: number },
): Promise<ShellScriptResult> {
  const managed = await waitManaged(installer.ssm, instanceId, { emulator: installer.emulator });
  if (managed.status === 'unverifiable') installer.note(`${command.what}: ${managed.reason}`);
  const run = await runShellScript(installer.ssm, instanceId, script, {
    timeoutSeconds: command.timeoutSeconds,
    comment: command.comment,
    pollMs: installer.emulator ? 200 : 5000,
    onProgress: (status) => installer.debug(`${command.what}: ${status}`),
  });
  if (run.status !== 'Success') {
    throw new WavectlError(
      `${command.what} failed (SSM command ${run.commandId}: ${run.status}${run.exitCode === undefined ? '' : `, exit ${run.exitCode}`}): ${(run.stderr || run.stdout).trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
  return run;
}

/** Health has three states: what could not be checked is `unverified`, never `healthy`. */
export type Health =
  | { health: 'healthy'; detail: string }
  | { health: 'unhealthy'; detail: string }
  | { health: 'unverified'; detail: string; reason: string };

export const EMULATOR_RUNS_NO_COMMAND =
  'the AWS emulator runs no command on instances; only the command status was seen';

/** Probes a service through SSM Run Command on its instance (the services listen in the private subnet). */
export async function probeService(
  ssm: SSMClient,
  component: ServiceComponent,
  instanceId: string,
  options: { emulator: boolean; comment: string },
): Promise<Health> {
  const run = await runShellScript(
    ssm,
    instanceId,
    component === 'controller' ? CONTROLLER_HEALTH_SCRIPT : KASM_HEALTH_SCRIPT,
    {
      timeoutSeconds: 60,
      comment: options.comment,
      pollMs: options.emulator ? 200 : 2000,
    },
  );
  const last = (run.stdout || run.stderr).trim().split('\n').at(-1) ?? '';
  if (run.status !== 'Success')
    return {
      health: 'unhealthy',
      detail: `${run.status}: ${(run.stderr || run.stdout).trim().split('\n').slice(-2).join(' | ') || 'no output'}`,
    };
  if (options.emulator)
    return {
      health: 'unverified',
      detail: `command ${run.status}${last ? `: ${last}` : ''}`,
      reason: EMULATOR_RUNS_NO_COMMAND,
    };
  return { health: 'healthy', detail: last || 'ok' };
}
