import type { WavectlConfig } from '../config/schema';
import type { Context } from '../context';
import { operatorKasmGroup } from '../deploy/kasm-oidc';
import { kasmOidcScriptFor } from '../deploy/kasm-oidc-step';
import { WavectlError } from '../errors';

/**
 * What became of an operator's group in Kasm: `created` (Kasm holds the group and its SSO mapping; it may
 * have held them already), `not-deployed` (no Kasm host recorded: nothing was sent), `unverified` (sent
 * to the emulator, which runs no command), `failed` (sent and refused, or not sent for an AWS error),
 * `skipped` (`--no-kasm`), `left` (`groups remove` leaves Kasm's group as the operator configured it).
 */
export interface KasmGroupOutcome {
  state: 'created' | 'not-deployed' | 'unverified' | 'failed' | 'skipped' | 'left';
  detail: string;
}

/** What to do when Kasm did not get the group: `groups kasm` again later, or the README's manual step. */
export const kasmRetry = (name: string): string =>
  `\`wavectl groups kasm ${name}\` gives it to Kasm once a deployment’s Kasm host can be reached, or add a Kasm group of that name with an SSO Group Mapping from that claim value in Kasm’s admin UI (README “Kasm signs in with Waveshift”)`;

/**
 * Pure: whether wavectl.json records a Kasm host to give a group to. `deploy` caches the Kasm instance's id
 * (`resources`) and records the deployment CA (`tls`), which the script carries; a local controller's
 * wavectl.json has neither, and then no AWS call is made.
 */
export function kasmTarget(
  config: Pick<WavectlConfig, 'resources' | 'tls'>,
): { ca: string } | { notDeployed: string } {
  if (!config.resources['kasm-instance'])
    return { notDeployed: 'wavectl.json records no Kasm host (no `wavectl deploy` from here)' };
  if (!config.tls?.caCertificate)
    return { notDeployed: 'wavectl.json records no deployment CA yet (`wavectl deploy` has not finished)' };
  return { ca: config.tls.caCertificate };
}

/** Pure: the script's lines about this group, as the outcome's detail. */
export const groupLines = (stdout: string, name: string): string =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith(`kasm-oidc: group ${name} `))
    .map((l) => l.slice('kasm-oidc: '.length))
    .join('; ');

/**
 * Gives Kasm a group of the operator's group's name, mapped from that claim value, by sending deploy's
 * OpenID script with the group added (idempotent: what deploy made is found as it is and left) to the Kasm
 * instance found by tag. Deploy's tag on the instance is not touched: it keeps saying which of deploy's own
 * documents Kasm was given. Never throws: the controller's group exists already, the outcome says the rest.
 */
export async function giveKasmGroup(
  ctx: Context,
  group: { name: string; description: string | null },
): Promise<KasmGroupOutcome> {
  const config = await ctx.loadConfig();
  const target = kasmTarget(config);
  if ('notDeployed' in target) {
    return {
      state: 'not-deployed',
      detail: `${target.notDeployed}: Kasm was not changed; ${kasmRetry(group.name)}`,
    };
  }
  try {
    const { findInstance } = await import('../aws/instances');
    const { runOnInstance, EMULATOR_RUNS_NO_COMMAND } = await import('../deploy/services');
    const aws = await ctx.aws();
    const kasm = await findInstance(await aws.ec2(), config.name, 'kasm');
    if (kasm?.state !== 'running') {
      return {
        state: 'not-deployed',
        detail: `no running Kasm instance in deployment ${config.name}: Kasm was not changed; ${kasmRetry(group.name)}`,
      };
    }
    const script = kasmOidcScriptFor({ deployment: config.name, region: config.aws.region }, target.ca, [
      operatorKasmGroup(group.name, group.description),
    ]);
    ctx.io.info(`Giving Kasm the group ${group.name} through SSM on ${kasm.instanceId}…`);
    const run = await runOnInstance(
      {
        ssm: await aws.ssm(),
        emulator: aws.emulator,
        note: (m) => ctx.io.debug(m),
        // The command's status as it moves: a real Kasm host may take minutes.
        debug: (m) => ctx.io.info(m),
      },
      kasm.instanceId,
      script,
      {
        what: `giving Kasm the group ${group.name}`,
        comment: 'wavectl groups add: kasm group',
        timeoutSeconds: 900,
      },
    );
    if (aws.emulator) {
      return {
        state: 'unverified',
        detail: `sent to ${kasm.instanceId} (SSM command ${run.commandId}), but ${EMULATOR_RUNS_NO_COMMAND}`,
      };
    }
    return {
      state: 'created',
      detail: groupLines(run.stdout, group.name) || `configured on ${kasm.instanceId}`,
    };
  } catch (error) {
    if (!(error instanceof WavectlError)) throw error;
    return {
      state: 'failed',
      detail: `${error.message}; the controller’s group stays: ${kasmRetry(group.name)}`,
    };
  }
}
