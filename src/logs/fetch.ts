import { accessServerComponent } from '../aws/components';
import { findInstance } from '../aws/instances';
import { runShellScript } from '../aws/ssm-run';
import { readDeploymentSecrets } from '../backup/secrets';
import type { Context } from '../context';
import { RELAY_OUTPUT_LIMIT } from '../controller-client/relay';
import { AwsError } from '../errors';
import { interruptibleSleep, interruptSignal } from '../io/interruptible-wait';
import { redactLine } from './redact';
import { type LogPosition, type LogTarget, parseLogsOutput, renderLogsScript } from './script';

export interface LogsResult {
  target: string;
  instanceId: string;
  lines: string[];
  /** SSM hands back at most 24,000 characters of a command's output. */
  truncated: boolean;
}

const targetName = (t: LogTarget): string =>
  t.kind === 'access-server' ? `access-server ${t.index}` : t.kind;

const FOLLOW_INTERVAL_MS = 5000;

/**
 * `wavectl logs`: the target's journal (and Kasm's container logs) read through SSM Run Command, masked on
 * the instance and again here with the deployment's own secret values. `follow` polls from where the last
 * read ended until Ctrl-C.
 */
export async function readLogs(
  ctx: Context,
  target: LogTarget,
  options: { sinceSeconds: number; lines: number; follow: boolean },
): Promise<LogsResult | undefined> {
  const config = await ctx.loadConfig();
  const aws = await ctx.aws();
  const name = targetName(target);
  if (aws.target.endpointUrl) {
    throw new AwsError(
      `under an AWS emulator no SSM command runs on instances, so there is no ${name} log to read: against real AWS this reads its journal through SSM; a local controller logs to the terminal of \`wavectl controller serve\` (--verbose for every request)`,
      {},
    );
  }
  const component =
    target.kind === 'access-server'
      ? accessServerComponent(target.index)
      : target.kind === 'kasm'
        ? 'kasm'
        : 'controller';
  const instance = await findInstance(await aws.ec2(), config.name, component);
  if (instance?.state !== 'running') {
    throw new AwsError(
      `no running ${name} instance in deployment ${config.name}${instance ? ` (${instance.instanceId} is ${instance.state})` : ''}: see \`wavectl status\``,
      {},
    );
  }
  const ssm = await aws.ssm();
  const secrets = (await readDeploymentSecrets(ssm, config.name)).map((s) => s.value);
  const poll = async (position?: LogPosition) => {
    const script = renderLogsScript(target, { ...options, position });
    const run = await runShellScript(ssm, instance.instanceId, script, {
      comment: `wavectl logs ${name}`,
      timeoutSeconds: 120,
      onProgress: (status) => ctx.io.debug(`SSM command: ${status}`),
    });
    if (run.status !== 'Success') {
      throw new AwsError(
        `reading the ${name} log on ${instance.instanceId} failed (${run.status}): ${run.stderr.trim().slice(0, 300)}`,
        {},
      );
    }
    const parsed = parseLogsOutput(run.stdout, position);
    return {
      ...parsed,
      lines: parsed.lines.map((l) => redactLine(l, secrets)),
      truncated: run.stdout.length >= RELAY_OUTPUT_LIMIT,
    };
  };

  const first = await ctx.io.track(
    `read the ${name} log through SSM (${instance.instanceId})`,
    () => poll(),
    (r) =>
      `${r.lines.length} lines${r.truncated ? ', cut at SSM’s 24,000 characters: ask for fewer with --lines' : ''}`,
  );
  if (!options.follow)
    return { target: name, instanceId: instance.instanceId, lines: first.lines, truncated: first.truncated };

  ctx.io.stream(first.lines, name);
  ctx.io.info(`following the ${name} log every ${FOLLOW_INTERVAL_MS / 1000}s; Ctrl-C stops`);
  const interrupt = interruptSignal();
  try {
    let position = first.position;
    while (!interrupt.signal.aborted) {
      await interruptibleSleep(FOLLOW_INTERVAL_MS, interrupt.signal);
      if (interrupt.signal.aborted) break;
      const next = await poll(position);
      ctx.io.stream(next.lines, name);
      position = next.position;
    }
  } finally {
    interrupt.release();
  }
  return undefined;
}

export const renderLogs = (r: LogsResult): string =>
  [...r.lines, ...(r.truncated ? ['(cut at SSM’s 24,000 characters: ask for fewer with --lines)'] : [])].join(
    '\n',
  );
