import { randomBytes } from 'node:crypto';
import { parseUciExport, quoteShell, type UciPackage } from './uci';

/**
 * The shell run on the router (busybox ash), and the parsing of what it prints. Pure: building scripts and
 * reading output need no connection. Every script is small and prints little (Dropbear has failed on large
 * outputs).
 */

export const SCANNER_DIR = '/etc/waveshift';
export const SCANNER_SCRIPT_PATH = `${SCANNER_DIR}/device-scanner.sh`;
export const SCANNER_CONF_PATH = `${SCANNER_DIR}/scanner.conf`;
export const CRONTAB_PATH = '/etc/crontabs/root';
export const CRON_MARK = '# waveshift-device-scanner';
/** Where the apply job keeps its backup and state; /tmp is RAM, so a reboot forgets an unconfirmed apply. */
export const APPLY_DIR = '/tmp/waveshift-apply';
const MARK = '@@wavectl:';

/** One exec that reads all wavectl needs: board, packages, pending changes, uci, scanner files, tunnel. */
export const READ_SCRIPT = [
  `echo ${MARK}board; ubus call system board 2>/dev/null`,
  `echo ${MARK}packages; opkg list-installed 2>/dev/null | cut -d' ' -f1`,
  `echo ${MARK}pending; for p in network dhcp firewall; do uci -q changes $p; done`,
  `echo ${MARK}uci; uci export network; uci export dhcp; uci export firewall`,
  `echo ${MARK}files; sha256sum ${SCANNER_SCRIPT_PATH} ${SCANNER_CONF_PATH} 2>/dev/null; ls -ln ${SCANNER_CONF_PATH} 2>/dev/null | cut -c1-10`,
  `echo ${MARK}cron; grep -F '${CRON_MARK}' ${CRONTAB_PATH} 2>/dev/null; /etc/init.d/cron enabled 2>/dev/null && echo enabled`,
  `echo ${MARK}handshake; wg show waveshift latest-handshakes 2>/dev/null; echo "now $(date +%s)"`,
  `echo ${MARK}apply; cat ${APPLY_DIR}/state 2>/dev/null; true`,
].join('\n');

export interface RouterSnapshot {
  model: string;
  firmware: string;
  packages: string[];
  /** Staged uci changes nobody committed (someone else's half-done edit). */
  pending: string[];
  uci: UciPackage[];
  scriptHash?: string;
  confHash?: string;
  confMode?: string;
  cronLine?: string;
  cronEnabled: boolean;
  /** Unix time of the tunnel's latest handshake; 0 or undefined when none. */
  handshakeAt?: number;
  now: number;
  applyState?: string;
}

function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(MARK)) {
      if (name !== undefined) out.set(name, body.join('\n'));
      name = line.slice(MARK.length).trim();
      body = [];
    } else body.push(line);
  }
  if (name !== undefined) out.set(name, body.join('\n'));
  return out;
}

/** Parses READ_SCRIPT's output; throws a SyntaxError when the router printed something unexpected. */
export function parseSnapshot(text: string): RouterSnapshot {
  const s = sections(text);
  for (const required of ['board', 'packages', 'uci', 'files', 'cron', 'handshake']) {
    if (!s.has(required)) throw new SyntaxError(`the router's answer lacks its "${required}" part`);
  }
  let model = 'unknown';
  let firmware = 'unknown';
  try {
    const board = JSON.parse(s.get('board') || '{}') as {
      model?: string;
      release?: { distribution?: string; version?: string; revision?: string };
    };
    model = board.model ?? model;
    if (board.release)
      firmware = [board.release.distribution, board.release.version, board.release.revision]
        .filter(Boolean)
        .join(' ');
  } catch {
    // no ubus answer: not fatal, the model stays unknown
  }
  const lines = (name: string) =>
    (s.get(name) ?? '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const files = lines('files');
  const hashOf = (path: string) =>
    files.find((l) => l.endsWith(` ${path}`) || l.endsWith(`\t${path}`))?.split(/\s+/)[0];
  const cron = lines('cron');
  const handshake = lines('handshake');
  const now = Number(handshake.find((l) => l.startsWith('now '))?.slice(4));
  const latest = handshake
    .filter((l) => !l.startsWith('now '))
    .map((l) => Number(l.split(/\s+/)[1]))
    .filter((n) => Number.isFinite(n));
  return {
    model,
    firmware,
    packages: lines('packages'),
    pending: lines('pending'),
    uci: parseUciExport(s.get('uci') ?? ''),
    scriptHash: hashOf(SCANNER_SCRIPT_PATH),
    confHash: hashOf(SCANNER_CONF_PATH),
    confMode: files.find((l) => /^[-dl][-rwxsStT]{9}$/.test(l)),
    cronLine: cron.find((l) => l.includes(CRON_MARK)),
    cronEnabled: cron.includes('enabled'),
    handshakeAt: latest.length > 0 ? Math.max(...latest) : undefined,
    now: Number.isFinite(now) ? now : Math.floor(Date.now() / 1000),
    applyState: lines('apply')[0],
  };
}

export interface FileWrite {
  path: string;
  mode: '0755' | '0644' | '0600';
  content: string;
  /** Shown as this instead of the content (it holds a secret). */
  redacted?: string;
}

export interface ApplyInputs {
  batch: string[];
  files: FileWrite[];
  /** The crontab line to put in place of ours, or undefined to leave the crontab alone. */
  cronLine?: string;
  enableCron: boolean;
  /** Seconds the router waits for a confirmation before restoring its previous configuration. */
  rollbackSeconds: number;
}

/** A here-document delimiter that no line of `content` can end early. */
function delimiter(content: string): string {
  for (;;) {
    const d = `WAVESHIFT_EOF_${randomBytes(6).toString('hex')}`;
    if (!content.split('\n').includes(d)) return d;
  }
}

function heredoc(content: string): { open: string; body: string } {
  const text = content.endsWith('\n') ? content : `${content}\n`;
  const d = delimiter(text);
  // Quoted delimiter: the shell expands nothing inside.
  return { open: `<<'${d}'`, body: `${text}${d}` };
}

/**
 * The apply script, sent on stdin (never argv) so secrets stay out of process lists. It stages the batch,
 * writes the scanner files, and — when uci changed — starts a detached job that commits, restarts the
 * network and rolls back unless `confirm` arrives in time: the router cannot be lost by a dropped session.
 */
export function renderApplyScript(inputs: ApplyInputs): string {
  const out: string[] = ['set -e', 'umask 077', `D=${APPLY_DIR}`];
  out.push(
    'if [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then echo "an earlier apply is still waiting for its confirmation" >&2; exit 3; fi',
  );
  if (inputs.batch.length > 0) {
    const doc = heredoc(inputs.batch.join('\n'));
    out.push(
      `if ! uci batch ${doc.open}`,
      doc.body,
      'then for p in network dhcp firewall; do uci -q revert $p || true; done; echo "uci batch failed; nothing was changed" >&2; exit 4; fi',
    );
  }
  if (inputs.files.length > 0) out.push(`mkdir -p ${SCANNER_DIR}`, `chmod 700 ${SCANNER_DIR}`);
  for (const file of inputs.files) {
    const doc = heredoc(file.content);
    const path = quoteShell(file.path);
    const next = quoteShell(`${file.path}.new`);
    out.push(`cat > ${next} ${doc.open}`, doc.body, `chmod ${file.mode} ${next}`, `mv ${next} ${path}`);
  }
  if (inputs.cronLine !== undefined) {
    out.push(
      `mkdir -p /etc/crontabs; touch ${CRONTAB_PATH}`,
      `grep -vF ${quoteShell(CRON_MARK)} ${CRONTAB_PATH} > ${CRONTAB_PATH}.new || true`,
      `echo ${quoteShell(inputs.cronLine)} >> ${CRONTAB_PATH}.new`,
      `mv ${CRONTAB_PATH}.new ${CRONTAB_PATH}`,
    );
  }
  if (inputs.enableCron) out.push('/etc/init.d/cron enable');
  if (inputs.cronLine !== undefined || inputs.enableCron)
    out.push('/etc/init.d/cron restart >/dev/null 2>&1 || true');
  if (inputs.batch.length > 0) {
    const job = heredoc(renderApplyJob(inputs.rollbackSeconds));
    out.push(
      'rm -rf "$D"; mkdir -p "$D/backup"',
      'cp /etc/config/network /etc/config/dhcp /etc/config/firewall "$D/backup/"',
      `cat > "$D/job.sh" ${job.open}`,
      job.body,
      'echo started > "$D/state"',
      // Detached from the session: it survives the connection dropping when the LAN address moves.
      '( trap "" HUP; sh "$D/job.sh" ) </dev/null >/dev/null 2>&1 &',
      'echo apply:detached',
    );
  } else out.push('echo apply:done');
  return `${out.join('\n')}\n`;
}

/** The detached job: commit, restart, wait for the confirmation, else restore the backup and restart. */
export function renderApplyJob(rollbackSeconds: number): string {
  const restart =
    'for s in network firewall dnsmasq; do /etc/init.d/$s restart >/dev/null 2>&1 || true; done';
  return [
    `D=${APPLY_DIR}`,
    'echo $$ > "$D/pid"',
    // Let the apply session's answer leave before the network goes down.
    'sleep 1',
    'uci commit network; uci commit dhcp; uci commit firewall',
    restart,
    'echo restarted > "$D/state"',
    'i=0',
    `while [ $i -lt ${Math.floor(rollbackSeconds)} ]; do`,
    '  if [ -f "$D/confirmed" ]; then echo confirmed > "$D/state"; rm -f "$D/pid"; exit 0; fi',
    '  sleep 1; i=$((i + 1))',
    'done',
    'cp "$D/backup/network" "$D/backup/dhcp" "$D/backup/firewall" /etc/config/',
    restart,
    'echo rolledback > "$D/state"',
    `logger -t wavectl "configuration not confirmed within ${Math.floor(rollbackSeconds)}s: previous configuration restored"`,
    'rm -f "$D/pid"',
  ].join('\n');
}

/** Confirms a restarted apply (stops its rollback) and prints the apply state. */
export const CONFIRM_SCRIPT = [
  `D=${APPLY_DIR}`,
  's=$(cat "$D/state" 2>/dev/null)',
  'case "$s" in restarted) touch "$D/confirmed"; echo confirmed ;; confirmed) echo confirmed ;; *) echo "state:$s" ;; esac',
].join('\n');

/** Exec that pipes the script from stdin into a private file and runs it (no secret on any command line). */
export const RUN_STDIN_SCRIPT =
  'umask 077; f=$(mktemp /tmp/wavectl.XXXXXX) || exit 1; cat > "$f"; sh "$f"; r=$?; rm -f "$f"; exit $r';

export const REBOOT_SCRIPT = '( sleep 1; reboot ) </dev/null >/dev/null 2>&1 & echo rebooting';

export const STATUS_SCRIPT = `wg show waveshift latest-handshakes 2>/dev/null; echo "now $(date +%s)"`;

/** Reads STATUS_SCRIPT's output: the newest handshake and the router's clock. */
export function parseStatus(text: string): { handshakeAt?: number; now: number } {
  const snap = parseSnapshot(
    `${MARK}board\n${MARK}packages\n${MARK}uci\n${MARK}files\n${MARK}cron\n${MARK}handshake\n${text}`,
  );
  return { handshakeAt: snap.handshakeAt, now: snap.now };
}

export function installScript(packages: readonly string[]): string {
  // opkg's own exit status decides; only the tail of its chatter comes back (small outputs for Dropbear).
  return `opkg update >/dev/null 2>&1; out=$(opkg install ${packages.map(quoteShell).join(' ')} 2>&1); r=$?; echo "$out" | tail -n 5; exit $r`;
}
