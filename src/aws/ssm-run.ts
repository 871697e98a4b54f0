import {
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { AwsError } from '../errors';
import { toAwsError } from './aws-error';

export interface RunShellScriptOptions {
  /** How long the command may run on the instance, and how long we wait for it (default 600 s). */
  timeoutSeconds?: number;
  comment?: string;
  /** Called with each new status seen while polling (Pending, InProgress, …). */
  onProgress?: (status: string) => void;
  /** Delay between polls (default 2 s). */
  pollMs?: number;
}

export interface ShellScriptResult {
  status: string;
  stdout: string;
  stderr: string;
  commandId: string;
  exitCode?: number;
}

const TERMINAL = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'Cancelling',
  'Undeliverable',
  'Terminated',
]);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `script` with AWS-RunShellScript on one managed instance and waits for a terminal status. The script
 * travels in the command's parameters, which AWS records in the command history: never put a secret in it
 * (scripts fetch secrets from Parameter Store with the instance role instead).
 */
export async function runShellScript(
  ssm: SSMClient,
  instanceId: string,
  script: string,
  options: RunShellScriptOptions = {},
): Promise<ShellScriptResult> {
  const timeoutSeconds = options.timeoutSeconds ?? 600;
  let commandId: string;
  try {
    const sent = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [instanceId],
        DocumentName: 'AWS-RunShellScript',
        Comment: (options.comment ?? 'wavectl').slice(0, 100),
        TimeoutSeconds: Math.max(30, timeoutSeconds),
        Parameters: { commands: [script], executionTimeout: [String(timeoutSeconds)] },
      }),
    );
    commandId = sent.Command?.CommandId ?? '';
  } catch (error) {
    throw toAwsError(`SSM SendCommand to ${instanceId}`, error);
  }
  if (!commandId) throw new AwsError(`SSM SendCommand to ${instanceId} returned no command id`, {});

  const deadline = Date.now() + (timeoutSeconds + 60) * 1000;
  const pollMs = options.pollMs ?? 2000;
  let lastStatus = '';
  for (;;) {
    let invocation: GetCommandInvocationCommandOutput | undefined;
    try {
      invocation = await ssm.send(
        new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
      );
    } catch (error) {
      // Right after SendCommand the invocation may not exist yet: that is normal, look again.
      if ((error as { name?: string }).name !== 'InvocationDoesNotExist') {
        throw toAwsError(`SSM GetCommandInvocation ${commandId}`, error);
      }
    }
    const status = invocation?.Status ?? 'Pending';
    if (status !== lastStatus) {
      lastStatus = status;
      options.onProgress?.(status);
    }
    if (invocation && TERMINAL.has(status)) {
      const code = invocation.ResponseCode;
      return {
        status,
        stdout: invocation.StandardOutputContent ?? '',
        stderr: invocation.StandardErrorContent ?? '',
        commandId,
        ...(code === undefined || code < 0 ? {} : { exitCode: code }),
      };
    }
    if (Date.now() > deadline) {
      throw new AwsError(
        `SSM command ${commandId} on ${instanceId} did not finish within ${timeoutSeconds}s (last status ${status}); see it with \`aws ssm get-command-invocation --command-id ${commandId} --instance-id ${instanceId}\``,
        {},
      );
    }
    await sleep(pollMs);
  }
}
