import { ACCESS_SERVER_INTERFACE } from '../wireguard/render';

const ACCESS_SERVER_UNIT = 'waveshift-wireguard.service';
/** cloud-init's first-boot output on Amazon Linux: where the user data's errors land. */
export const BOOT_LOG = '/var/log/cloud-init-output.log';
/** Written by cloud-init when the first boot is over, whether the user data succeeded or not. */
const BOOT_FINISHED = '/var/lib/cloud/instance/boot-finished';
const MARK = 'WAVESHIFT-BOOT';

/**
 * Pure (POSIX sh, run by the SSM agent): whether the access server's first boot brought the tunnel up —
 * the unit active and `wg show` answering — is still running, or is over without it (then the log tail).
 */
export const ACCESS_SERVER_BOOT_CHECK_SCRIPT = `unit=${ACCESS_SERVER_UNIT}
if systemctl is-active --quiet "$unit" && wg show ${ACCESS_SERVER_INTERFACE} >/dev/null 2>&1; then echo "${MARK} up"; exit 0; fi
if [ ! -e ${BOOT_FINISHED} ]; then echo "${MARK} booting"; exit 0; fi
state=$(systemctl is-active "$unit" 2>/dev/null || true)
if ip link show ${ACCESS_SERVER_INTERFACE} >/dev/null 2>&1; then link=present; else link=absent; fi
echo "${MARK} failed: $unit is \${state:-unknown}, ${ACCESS_SERVER_INTERFACE} is $link"
tail -n 20 ${BOOT_LOG} 2>/dev/null || true
exit 1
`;

export type BootCheck =
  | { state: 'up' }
  | { state: 'booting' }
  | { state: 'failed'; reason: string; logTail: string };

/** Pure: reads what the boot check printed (its command's status aside: a failure exits 1 on purpose). */
export function parseBootCheck(stdout: string, stderr = ''): BootCheck {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(MARK));
  const line = at >= 0 ? lines[at]!.slice(MARK.length + 1) : '';
  if (line === 'up') return { state: 'up' };
  if (line === 'booting') return { state: 'booting' };
  if (line.startsWith('failed: ')) {
    return {
      state: 'failed',
      reason: line.slice('failed: '.length),
      logTail: lines
        .slice(at + 1)
        .join('\n')
        .trim(),
    };
  }
  return {
    state: 'failed',
    reason: 'the boot check printed no result',
    logTail: `${stdout}\n${stderr}`.trim().split('\n').slice(-20).join('\n'),
  };
}
