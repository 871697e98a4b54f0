import { basename, dirname } from 'node:path';
import {
  DeleteParameterCommand,
  GetParameterCommand,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { generateApiKey } from '../aws/api-key';
import { findInstance } from '../aws/instances';
import { parameterNames } from '../aws/naming';
import { call, errorName } from '../aws/retry';
import { runShellScript } from '../aws/ssm-run';
import type { Context } from '../context';
import { hashScannerKey } from '../controller/auth/scanner-key';
import { connectController } from '../controller-client/connect';
import { API_KEY_HEADER_FILE } from '../controller-client/relay';
import { ConfigError, ControllerError, UsageError } from '../errors';

export interface RotateResult {
  parameter: string;
  previousValidUntil: string | null;
  graceSeconds: number;
  /** Deployed controller: its env file and relay header now hold the new key; local: nothing to update. */
  controllerFiles: 'updated' | 'not-applicable';
}

/** Parses `--grace` (`0`, `90s`, `10m`, `2h`) into seconds. Pure. */
export function parseGrace(text: string): number {
  const m = /^(\d{1,6})([smh]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--grace must be a duration like 90s, 10m or 2h (or 0), not "${text}"`);
  const seconds = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600 }[m[2] as '' | 's' | 'm' | 'h'];
  if (seconds > 7 * 24 * 3600) throw new UsageError('--grace is at most 7 days');
  return seconds;
}

/**
 * On the controller instance: the env file and the relay's header file take the new key, read there from
 * SSM with the instance role (the script carries no secret). The running controller already accepts the
 * key; these files make a restart and the next relay use it.
 */
export function renderControllerKeyUpdate(
  parameter: string,
  region: string,
  configDir = dirname(API_KEY_HEADER_FILE),
): string {
  const header = `${configDir}/${basename(API_KEY_HEADER_FILE)}`;
  const env = `${configDir}/controller.env`;
  return [
    'set -eu',
    'umask 077',
    `key=$(aws ssm get-parameter --with-decryption --name '${parameter}' --region '${region}' --query Parameter.Value --output text)`,
    // Not `[ -n "$key" ] && …`: set -e ignores a failing && list, and an empty key must stop the script.
    `if [ -z "$key" ] || [ "$key" = None ]; then echo 'SSM parameter ${parameter} is empty' >&2; exit 1; fi`,
    `tmp=$(mktemp ${header}.XXXXXX)`,
    'printf \'X-API-Key: %s\\n\' "$key" > "$tmp"',
    `mv -f "$tmp" ${header}`,
    `tmp=$(mktemp ${env}.XXXXXX)`,
    // base64url keys hold no sed metacharacter, and '|' is not among them.
    `sed "s|^WAVESHIFT_API_KEY=.*|WAVESHIFT_API_KEY=$key|" ${env} > "$tmp"`,
    `mv -f "$tmp" ${env}`,
    '',
  ].join('\n');
}

async function readParameter(ssm: SSMClient, name: string): Promise<string | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value;
  } catch (error) {
    if (errorName(error) === 'ParameterNotFound') return undefined;
    throw error;
  }
}

/**
 * `wavectl api-key rotate`: a new deployment key, announced to the controller by its hash (the old key stays
 * valid for the grace period), then stored as the deployment's key in SSM. The new key is parked at
 * `api-key-next` first, so a run interrupted anywhere is finished by running it again with the same key.
 * Scanners are not touched: each reports with its own site key.
 */
export async function rotateApiKey(ctx: Context, graceSeconds: number): Promise<RotateResult> {
  return ctx.withLock(async () => {
    const config = await ctx.loadConfig();
    const aws = await ctx.aws();
    const emulator = Boolean(aws.target.endpointUrl);
    if (!config.controller.url && emulator) {
      throw new ControllerError(
        'under an AWS emulator no SSM command runs, so the controller cannot be told of a new key through SSM: set controller.url to a local `wavectl controller serve --api-key-from-ssm` and run again; nothing was changed',
      );
    }
    const ssm = await aws.ssm();
    const names = parameterNames(config.name);
    const nextName = `${names.apiKey}-next`;
    if ((await call('SSM GetParameter', () => readParameter(ssm, names.apiKey))) === undefined) {
      throw new ConfigError(`no API key in SSM at ${names.apiKey}: run \`wavectl deploy\` first`);
    }
    let next = await call('SSM GetParameter', () => readParameter(ssm, nextName));
    if (next === undefined) {
      next = generateApiKey();
      const value = next;
      await call(`SSM PutParameter ${nextName}`, () =>
        ssm.send(
          new PutParameterCommand({ Name: nextName, Value: value, Type: 'SecureString', Overwrite: false }),
        ),
      );
    } else ctx.io.info('finishing a rotation an earlier run began (same new key)');
    const key = next;
    const controller = await connectController(ctx);
    const { previousValidUntil } = await ctx.io.track(
      'the controller accepts the new key',
      () => controller.rotateDeploymentKey(hashScannerKey(key), graceSeconds),
      (r) =>
        r.previousValidUntil ? `old key valid until ${r.previousValidUntil}` : 'old key refused from now',
    );
    await call(`SSM PutParameter ${names.apiKey}`, () =>
      ssm.send(
        new PutParameterCommand({ Name: names.apiKey, Value: key, Type: 'SecureString', Overwrite: true }),
      ),
    );
    let controllerFiles: RotateResult['controllerFiles'] = 'not-applicable';
    if (!config.controller.url) {
      const instance = await findInstance(await aws.ec2(), config.name, 'controller');
      if (!instance) throw new ControllerError(`no controller instance in deployment ${config.name}`);
      const run = await ctx.io.track('update the key files on the controller instance', () =>
        runShellScript(ssm, instance.instanceId, renderControllerKeyUpdate(names.apiKey, aws.target.region), {
          comment: 'wavectl api-key rotate',
          timeoutSeconds: 120,
        }),
      );
      if (run.status !== 'Success') {
        throw new ControllerError(
          `the controller accepts the new key, but its files on ${instance.instanceId} were not updated (${run.status}): run \`wavectl api-key rotate\` again within the grace period`,
        );
      }
      controllerFiles = 'updated';
    }
    await call(`SSM DeleteParameter ${nextName}`, () =>
      ssm.send(new DeleteParameterCommand({ Name: nextName })),
    );
    if (ctx.env.WAVESHIFT_API_KEY) {
      ctx.io.warn(
        'WAVESHIFT_API_KEY in this environment holds a key set by hand: unset it (wavectl then reads the new key from SSM) or set it to the new key before the grace period ends',
      );
    }
    return { parameter: names.apiKey, previousValidUntil, graceSeconds, controllerFiles };
  });
}

export const renderRotate = (r: RotateResult): string =>
  [
    `new deployment API key stored in SSM at ${r.parameter}`,
    r.previousValidUntil
      ? `the old key is accepted until ${r.previousValidUntil}, refused afterwards`
      : 'the old key is refused from now on',
    'scanners report with their own site keys and need nothing; wavectl reads the key from SSM',
  ].join('\n');
