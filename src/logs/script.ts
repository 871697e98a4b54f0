import { UsageError } from '../errors';
import { SED_REDACTION } from './redact';

export type LogTarget = { kind: 'controller' } | { kind: 'kasm' } | { kind: 'access-server'; index: number };

/** Where a poll left off: the journal's cursor, and the instance's clock for container logs. */
export interface LogPosition {
  cursor?: string;
  epoch?: number;
}

const CURSOR_MARK = 'WAVESHIFT-LOGS-CURSOR';
const NOW_MARK = 'WAVESHIFT-LOGS-NOW';

const UNITS: Record<LogTarget['kind'], string[]> = {
  controller: ['waveshift-controller', 'postgresql'],
  kasm: ['docker'],
  'access-server': ['waveshift-wireguard'],
};

/** Parses `--since` (`90s`, `30m`, `1h`, `2d`) into seconds. Pure. */
export function parseSince(text: string): number {
  const m = /^(\d{1,5})([smhd])$/.exec(text.trim());
  if (!m) throw new UsageError(`--since must be a duration like 30m, 1h or 2d, not "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * The script one poll runs on the instance (POSIX sh, as the SSM agent runs it): the journal of the
 * target's units (journalctl), and for Kasm each kasm_* container's log (docker logs), masked by sed before
 * anything leaves the instance. The first poll reads `--lines` lines of the last `sinceSeconds`; a follow-up
 * poll reads what came after `position`. Pure.
 */
export function renderLogsScript(
  target: LogTarget,
  options: { sinceSeconds: number; lines: number; position?: LogPosition },
): string {
  const cursor = options.position?.cursor;
  if (cursor !== undefined && !/^[A-Za-z0-9=;_-]+$/.test(cursor))
    throw new RangeError('unexpected journal cursor');
  const units = UNITS[target.kind].map((u) => `-u ${u}`).join(' ');
  const window =
    cursor !== undefined
      ? `--after-cursor '${cursor}'`
      : `--since '-${options.sinceSeconds}s' -n ${options.lines}`;
  const dockerSince = options.position?.epoch ?? `$(( $(date +%s) - ${options.sinceSeconds} ))`;
  const lines = [
    'set -u',
    `redact() { sed -E ${SED_REDACTION.map((e) => `-e '${e.replace(/'/g, `'\\''`)}'`).join(' ')}; }`,
    `echo "${NOW_MARK} $(date +%s)"`,
    `journalctl --no-pager -o short-iso ${units} ${window} --show-cursor 2>&1 | redact | sed 's/^-- cursor: /${CURSOR_MARK} /'`,
  ];
  if (target.kind === 'kasm') {
    lines.push(
      `for c in $(docker ps --format '{{.Names}}' | grep '^kasm_'); do`,
      `  docker logs --timestamps --since "${dockerSince}" ${cursor === undefined ? `--tail ${options.lines} ` : ''}"$c" 2>&1 | redact | sed "s/^/$c: /"`,
      'done',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Pure: the log lines of a poll's output, and where the next poll starts. */
export function parseLogsOutput(
  stdout: string,
  previous: LogPosition = {},
): { lines: string[]; position: LogPosition } {
  const position: LogPosition = { ...previous };
  const lines: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${NOW_MARK} `)) position.epoch = Number(line.slice(NOW_MARK.length + 1));
    else if (line.startsWith(`${CURSOR_MARK} `)) position.cursor = line.slice(CURSOR_MARK.length + 1).trim();
    else if (line.length > 0 && line !== '-- No entries --') lines.push(line);
  }
  return { lines, position };
}
