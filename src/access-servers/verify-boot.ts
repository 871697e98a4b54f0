import type { SSMClient } from '@aws-sdk/client-ssm';
import { runShellScript } from '../aws/ssm-run';
import type { AccessServerRecord } from '../config/schema';
import { InstanceBootError } from '../errors';
import { ACCESS_SERVER_BOOT_CHECK_SCRIPT, BOOT_LOG, type BootCheck, parseBootCheck } from './boot-check';

export type BootVerification = { status: 'up' } | { status: 'unverified'; reason: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks each new access server, through SSM, whether its first boot brought the tunnel up, until it has or
 * its boot is over without it (then fails with the instance's log tail). The emulator executes no command:
 * there the answer is `unverified`, never `up`.
 */
export async function verifyAccessServerBoot(
  ssm: SSMClient,
  servers: readonly AccessServerRecord[],
  options: { emulator: boolean; timeoutMs?: number; pollMs?: number },
): Promise<BootVerification> {
  if (options.emulator) {
    return {
      status: 'unverified',
      reason:
        'the AWS emulator executes no commands: the access servers’ boot (WireGuard up) was not verified',
    };
  }
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    servers.map(async (server) => {
      const instanceId = server.instanceId!;
      for (;;) {
        const run = await runShellScript(ssm, instanceId, ACCESS_SERVER_BOOT_CHECK_SCRIPT, {
          comment: `wavectl boot check of access server ${server.index}`,
          timeoutSeconds: 60,
          pollMs: 2000,
        });
        const check: BootCheck = parseBootCheck(run.stdout, run.stderr);
        if (check.state === 'up') return;
        if (check.state === 'failed') {
          throw new InstanceBootError(
            `access server ${server.index} (${instanceId}) did not bring WireGuard up: ${check.reason}; fix the cause and run \`wavectl access-servers --add\` again (last lines of ${BOOT_LOG}:\n${check.logTail || '(empty)'})`,
            { instanceId, logTail: check.logTail },
          );
        }
        if (Date.now() > deadline) {
          throw new InstanceBootError(
            `access server ${server.index} (${instanceId}) was still booting after ${Math.round(timeoutMs / 60_000)} min; see ${BOOT_LOG} on it, then run \`wavectl access-servers --add\` again`,
            { instanceId, logTail: '' },
          );
        }
        await sleep(options.pollMs ?? 15_000);
      }
    }),
  );
  return { status: 'up' };
}
