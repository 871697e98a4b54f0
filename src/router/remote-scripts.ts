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
/** Where the apply job keeps its state (RAM: a reboot forgets it; the pending restore below does not). */
export const APPLY_DIR = '/tmp/waveshift-apply';
/**
 * On flash: the configuration to restore unless the apply is confirmed. Present only during a confirm
 * window; the boot hook restores it if power was lost before the confirmation arrived.
 */
export const PENDING_DIR = `${SCANNER_DIR}/pending-restore`;
export const BOOT_HOOK_PATH = '/etc/init.d/waveshift-restore';
/** Before netifd (START=20) brings the network up from the configuration. */
const BOOT_HOOK_LINK = '/etc/rc.d/S12waveshift-restore';
const MARK = '@@wavectl:';

/** One exec that reads all wavectl needs: board, packages, pending changes, uci, scanner files, tunnel. */
export const READ_SCRIPT = [
  `echo ${MARK}board; ubus call system board 2>/dev/null`,
  `echo ${MARK}packages; opkg list-installed 2>/dev/null | cut -d' ' -f1`,
  `echo ${MARK}pending; uci -q changes | grep -E '^-?(network|dhcp|firewall)\\.'`,
  // One uci process for the three packages (each costs a process start). -n names anonymous sections by
  // their generated id, so a batch addresses them as `uci changes` will print them. A package missing
  // from the export is asked for alone, for uci's own message about it.
  `echo ${MARK}uci; T=$(mktemp); uci -n export 2>/dev/null | awk '/^package /{n=$2; gsub(/[^A-Za-z0-9_-]/,"",n); p=(n=="network"||n=="dhcp"||n=="firewall")} p' > "$T"; cat "$T"`,
  `E=; for p in network dhcp firewall; do grep -qE "^package '?$p'?$" "$T" || E="$E$p: $(uci export $p 2>&1 >/dev/null | head -c 300 | tr -s '\\n' ' ')\\n"; done; rm -f "$T"`,
  `echo ${MARK}files; sha256sum ${SCANNER_SCRIPT_PATH} ${SCANNER_CONF_PATH} 2>/dev/null; ls -ln ${SCANNER_CONF_PATH} 2>/dev/null | cut -c1-10`,
  `echo ${MARK}cron; grep -F '${CRON_MARK}' ${CRONTAB_PATH} 2>/dev/null; /etc/init.d/cron enabled 2>/dev/null && echo enabled`,
  `echo ${MARK}handshake; wg show waveshift latest-handshakes 2>/dev/null; echo "now $(date +%s)"`,
  `echo ${MARK}apply; cat ${APPLY_DIR}/state 2>/dev/null; true`,
  `echo ${MARK}uci-errors; printf '%b' "$E"`,
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
  /** Packages the router's uci could not read, with its own message (`firewall: uci: Parse error …`). */
  uciErrors: string[];
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
    uciErrors: lines('uci-errors'),
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
  /** What `uci changes` must print after the batch, in `packages` order (holds secrets). */
  expected: string[];
  /** The uci packages the batch touches: checked, committed, their services reloaded. */
  packages: string[];
  files: FileWrite[];
  /** The crontab line to put in place of ours, or undefined to leave the crontab alone. */
  cronLine?: string;
  enableCron: boolean;
  /** Seconds the router waits for a confirmation before restoring its previous configuration. */
  rollbackSeconds: number;
  /** The LAN address moves: the job waits a moment so the apply session's answer leaves first. */
  lanMoves: boolean;
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

/** Exit status of the apply script when the batch did not do what was planned (nothing committed). */
export const BATCH_FAILED_EXIT = 4;
const FAILED_LINE = 'failed-change:';
const UCI_ERROR = 'uci-error:';

/**
 * The batch, then the check the real `uci batch` does not do (it exits 0 whatever failed): its stderr must
 * be empty and `uci changes` exactly what the plan expects. Otherwise every staged change is reverted and
 * the script exits naming the expected changes that are missing, before anything is committed.
 */
function batchAndVerify(inputs: ApplyInputs): string[] {
  const batch = heredoc(inputs.batch.join('\n'));
  const expected = heredoc(inputs.expected.join('\n'));
  return [
    'V=$(mktemp -d /tmp/wavectl-verify.XXXXXX)',
    `uci batch 2>"$V/err" >/dev/null ${batch.open}`,
    batch.body,
    `cat > "$V/expected" ${expected.open}`,
    expected.body,
    // One uci call (a package that fails to load elsewhere only matters if the comparison differs).
    `uci changes 2>/dev/null | grep -E '^-?(network|dhcp|firewall)\\.' > "$V/changes" || true`,
    'if [ -s "$V/err" ] || [ "$(cat "$V/expected")" != "$(cat "$V/changes")" ]; then',
    `  n=0; while IFS= read -r l; do n=$((n + 1)); grep -qxF -e "$l" "$V/changes" || echo "${FAILED_LINE}$n"; done < "$V/expected"`,
    `  head -n 5 "$V/err" | sed 's/^/${UCI_ERROR}/'`,
    '  for p in network dhcp firewall; do uci -q revert $p || true; done',
    '  rm -rf "$V"',
    `  exit ${BATCH_FAILED_EXIT}`,
    'fi',
    'rm -rf "$V"',
  ];
}

/** What a failed batch printed: 1-based numbers of the missing expected changes, and uci's own errors. */
export function parseBatchFailure(stdout: string): { failed: number[]; errors: string[] } {
  const lines = stdout.split('\n');
  return {
    failed: lines.filter((l) => l.startsWith(FAILED_LINE)).map((l) => Number(l.slice(FAILED_LINE.length))),
    errors: lines.filter((l) => l.startsWith(UCI_ERROR)).map((l) => l.slice(UCI_ERROR.length).trim()),
  };
}

/** The reloads that make a package's committed configuration live, without a reboot. */
export function reloadCommands(packages: readonly string[]): string[] {
  const out: string[] = [];
  // netifd re-reads its configuration on reload; ifup restarts the tunnel so a new key or peer takes.
  if (packages.includes('network'))
    out.push('/etc/init.d/network reload', 'ifup waveshift >/dev/null 2>&1 || true');
  if (packages.includes('dhcp')) out.push('/etc/init.d/dnsmasq reload');
  if (packages.includes('firewall')) out.push('/etc/init.d/firewall reload');
  return out.map((c) => (c.includes('||') ? c : `${c} >/dev/null 2>&1 || true`));
}

/**
 * The boot hook (on flash, linked into /etc/rc.d before the network starts): restores the configuration
 * an unconfirmed apply replaced, if power was lost during its confirm window.
 */
export function renderBootHook(): string {
  return [
    '#!/bin/sh /etc/rc.common',
    '# Waveshift (wavectl configure-hub): undoes a configuration change that was never confirmed.',
    'START=12',
    'boot() {',
    // A restore the job had claimed when the power went is finished here too.
    `\tfor P in ${PENDING_DIR}.restoring ${PENDING_DIR}; do`,
    '\t\t[ -d "$P" ] || continue',
    '\t\tfor f in network dhcp firewall; do [ -f "$P/$f" ] && cp "$P/$f" "/etc/config/$f"; done',
    '\t\trm -rf "$P"; sync',
    '\t\tlogger -t wavectl "configuration change not confirmed before a reboot: previous configuration restored"',
    '\tdone',
    '}',
    'start() { :; }',
  ].join('\n');
}

/**
 * The apply script, sent on stdin (never argv) so secrets stay out of process lists. It stages and checks
 * the batch, writes the scanner files, and — when uci changed — keeps the previous configuration on flash
 * (restored at boot unless confirmed) and starts a detached job that commits, reloads the services the
 * change touches and restores the previous configuration unless `confirm` arrives in time: the router
 * cannot be lost by a dropped session, nor by a power cut.
 */
export function renderApplyScript(inputs: ApplyInputs): string {
  const out: string[] = ['set -e', 'umask 077', `D=${APPLY_DIR}`, `P=${PENDING_DIR}`];
  out.push(
    'if [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then echo "an earlier apply is still waiting for its confirmation" >&2; exit 3; fi',
  );
  if (inputs.batch.length > 0) out.push(...batchAndVerify(inputs));
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
    const job = heredoc(renderApplyJob(inputs.rollbackSeconds, inputs.packages, inputs.lanMoves));
    const hook = heredoc(renderBootHook());
    out.push(
      'rm -rf "$D"; mkdir -p "$D"',
      `mkdir -p ${SCANNER_DIR} /etc/rc.d`,
      `cat > ${BOOT_HOOK_PATH}.new ${hook.open}`,
      hook.body,
      `chmod 755 ${BOOT_HOOK_PATH}.new; mv ${BOOT_HOOK_PATH}.new ${BOOT_HOOK_PATH}`,
      `ln -sf ../init.d/${BOOT_HOOK_PATH.split('/').pop()} ${BOOT_HOOK_LINK}`,
      // Complete or absent: the hook never restores half a backup.
      'rm -rf "$P.new"; mkdir -p "$P.new"',
      'cp /etc/config/network /etc/config/dhcp /etc/config/firewall "$P.new/"',
      'rm -rf "$P"; mv "$P.new" "$P"; sync',
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

/**
 * The detached job: commit, reload what changed, wait for the confirmation (the confirm removes the
 * pending restore), else restore the previous configuration and reload again.
 */
export function renderApplyJob(
  rollbackSeconds: number,
  packages: readonly string[],
  lanMoves: boolean,
): string {
  const reload = reloadCommands(packages);
  return [
    `D=${APPLY_DIR}`,
    `P=${PENDING_DIR}`,
    'echo $$ > "$D/pid"',
    // Let the apply session's answer leave before the LAN address goes.
    ...(lanMoves ? ['sleep 1'] : []),
    ...packages.map((p) => `uci commit ${p}`),
    'sync',
    ...reload,
    'echo restarted > "$D/state"',
    'i=0',
    `while [ $i -lt ${Math.floor(rollbackSeconds)} ]; do`,
    '  if [ -f "$D/confirmed" ] || [ ! -d "$P" ]; then echo confirmed > "$D/state"; rm -f "$D/pid"; exit 0; fi',
    '  sleep 1; i=$((i + 1))',
    'done',
    // The job and a late confirm race for the pending restore: whichever renames it first wins, so a
    // confirmation the router answered is never followed by a restore.
    'rm -rf "$P.restoring"',
    'if ! mv "$P" "$P.restoring" 2>/dev/null; then echo confirmed > "$D/state"; rm -f "$D/pid"; exit 0; fi',
    'cp "$P.restoring/network" "$P.restoring/dhcp" "$P.restoring/firewall" /etc/config/',
    'rm -rf "$P.restoring"; sync',
    ...reloadCommands(['network', 'dhcp', 'firewall']),
    'echo rolledback > "$D/state"',
    `logger -t wavectl "configuration not confirmed within ${Math.floor(rollbackSeconds)}s: previous configuration restored"`,
    'rm -f "$D/pid"',
  ].join('\n');
}

/** Confirms a reloaded apply (drops the pending restore on flash first) and prints the apply state. */
export const CONFIRM_SCRIPT = [
  `D=${APPLY_DIR}`,
  's=$(cat "$D/state" 2>/dev/null)',
  `P=${PENDING_DIR}`,
  // Confirmed only if this takes the pending restore before the job claims it (or an earlier confirm did);
  // the state is written at once, so whoever reads it next sees the confirmation.
  'case "$s" in',
  '  restarted) rm -rf "$P.confirmed"',
  '    if mv "$P" "$P.confirmed" 2>/dev/null || [ -f "$D/confirmed" ]; then rm -rf "$P.confirmed"; sync; touch "$D/confirmed"; echo confirmed > "$D/state"; echo confirmed',
  '    else echo "state:$(cat "$D/state" 2>/dev/null)"; fi ;;',
  '  confirmed) echo confirmed ;;',
  '  *) echo "state:$s" ;;',
  'esac',
].join('\n');

/** The last line of a script sent to RUN_STDIN_SCRIPT: one cut short by a dropped connection never runs. */
export const SCRIPT_END = '# wavectl: end of script';

/** Exec that pipes the script from stdin into a private file and runs it (no secret on any command line). */
export const RUN_STDIN_SCRIPT = `umask 077; f=$(mktemp /tmp/wavectl.XXXXXX) || exit 1; cat > "$f"; if [ "$(tail -n 1 "$f")" != '${SCRIPT_END}' ]; then rm -f "$f"; echo 'the script arrived incomplete (the connection dropped); nothing was run' >&2; exit 5; fi; sh "$f"; r=$?; rm -f "$f"; exit $r`;

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
