#!/bin/sh
# Waveshift device scanner: runs on a site's GL.iNet (OpenWrt) router from busybox cron.
# One `nmap -sn` of the site LAN, one JSON report POSTed to the controller with the site's scoped key.
# A report that cannot be delivered waits in a bounded spool and is sent, oldest first, on the next run.
# POSIX sh for busybox ash. Installed and configured by `wavectl configure-hub`.
#
# Config file (root only, 0600): $WAVESHIFT_SCANNER_CONF or /etc/waveshift/scanner.conf, KEY=value lines:
#   SITE, LAN_CIDR, CONTROLLER_URL, API_KEY; optional SPOOL_DIR, SPOOL_MAX, LOCK_DIR, TIMEOUT, LEASES_FILE,
#   CA_FILE (the deployment CA that an https CONTROLLER_URL is verified against).
# The key never appears on a command line: curl reads its header from stdin (-K -).

CONF=${WAVESHIFT_SCANNER_CONF:-/etc/waveshift/scanner.conf}
TAG=waveshift-scanner

log() {
	logger -t "$TAG" "$*" 2>/dev/null || true
	[ -t 2 ] && echo "$TAG: $*" >&2
	return 0
}

SITE=
LAN_CIDR=
CONTROLLER_URL=
API_KEY=
SPOOL_DIR=/var/spool/waveshift-scanner
SPOOL_MAX=48
LOCK_DIR=/var/run/waveshift-scanner.lock
TIMEOUT=20
LEASES_FILE=/tmp/dhcp.leases
# The deployment CA (PEM) that the controller's https certificate must come from; installed by configure-hub.
CA_FILE=

# Read KEY=value lines without sourcing the file, so nothing in it can run as code.
[ -r "$CONF" ] || { log "cannot read $CONF"; exit 2; }
while IFS= read -r line || [ -n "$line" ]; do
	case "$line" in
		'#'* | '') continue ;;
	esac
	key=${line%%=*}
	value=${line#*=}
	case "$key" in
		SITE) SITE=$value ;;
		LAN_CIDR) LAN_CIDR=$value ;;
		CONTROLLER_URL) CONTROLLER_URL=$value ;;
		API_KEY) API_KEY=$value ;;
		SPOOL_DIR) SPOOL_DIR=$value ;;
		SPOOL_MAX) SPOOL_MAX=$value ;;
		LOCK_DIR) LOCK_DIR=$value ;;
		TIMEOUT) TIMEOUT=$value ;;
		LEASES_FILE) LEASES_FILE=$value ;;
		CA_FILE) CA_FILE=$value ;;
	esac
done <"$CONF"

case "$SITE" in '' | *[!0-9]*) log "SITE missing or not a number in $CONF"; exit 2 ;; esac
case "$SPOOL_MAX" in '' | *[!0-9]*) SPOOL_MAX=48 ;; esac
[ -n "$LAN_CIDR" ] && [ -n "$CONTROLLER_URL" ] && [ -n "$API_KEY" ] || { log "incomplete $CONF"; exit 2; }

# One run at a time. The lock is a symlink whose target is the holder's PID: `ln -s` creates it with the
# PID in one atomic step, so no run ever sees a lock without its holder (a directory and a pid file
# written after it would be taken for stale by a run in between). A lock left by a dead run is taken
# over under a second lock, and only if it still names that dead run: two runs that both saw it stale
# cannot both take it. A directory lock of an earlier version of this script is honoured the same way.
holder_of() {
	if [ -L "$1" ]; then readlink "$1"; elif [ -d "$1" ]; then cat "$1/pid" 2>/dev/null; fi
}
# A live PID holds the lock only while it is still a scan: PIDs are reused, and a dead run's lock naming
# some unrelated process (a daemon started after a crash) would stop every scan until that process ends.
is_scan() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/cmdline" ] || return 0
	tr '\000' ' ' <"/proc/$1/cmdline" | grep -q 'device-scanner'
}
take_lock() {
	# `ln -s` into an existing directory would make a link inside it: only where no old-style lock is.
	if [ -L "$LOCK_DIR" ] || [ ! -d "$LOCK_DIR" ]; then
		ln -s "$$" "$LOCK_DIR" 2>/dev/null && return 0
	fi
	holder=$(holder_of "$LOCK_DIR")
	if [ -n "$holder" ]; then
		is_scan "$holder" && return 1
	else
		# No holder named: an old-style lock whose pid is being written now, or (a minute on) never will be.
		[ -d "$LOCK_DIR" ] && [ -n "$(find "$LOCK_DIR" -maxdepth 0 -mmin +1 2>/dev/null)" ] || return 1
	fi
	# A takeover left by a run killed in its middle (it lasts milliseconds) is stale after a minute.
	if [ -n "$(find "$LOCK_DIR.takeover" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
		rmdir "$LOCK_DIR.takeover" 2>/dev/null
	fi
	mkdir "$LOCK_DIR.takeover" 2>/dev/null || return 1
	[ "$(holder_of "$LOCK_DIR")" = "$holder" ] && rm -rf "$LOCK_DIR"
	ln -s "$$" "$LOCK_DIR" 2>/dev/null
	taken=$?
	rmdir "$LOCK_DIR.takeover"
	return $taken
}
if ! take_lock; then
	log "another scan is running; skipping this one"
	exit 0
fi
WORK=
trap '[ "$(readlink "$LOCK_DIR")" = "$$" ] && rm -f "$LOCK_DIR"; [ -z "$WORK" ] || rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM HUP

umask 077
mkdir -p "$SPOOL_DIR" || { log "cannot create $SPOOL_DIR"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$TAG.XXXXXX") || exit 1

# ISO-8601 UTC scan time; the report name sorts by it (epoch seconds, then pid for uniqueness).
SCANNED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EPOCH=$(date -u +%s)

if ! nmap -sn -n -oX - "$LAN_CIDR" >"$WORK/scan.xml" 2>"$WORK/nmap.err"; then
	log "nmap failed: $(head -c 200 "$WORK/nmap.err")"
	exit 1
fi

# nmap XML → JSON devices: addresses by attribute, hostnames from the router's DHCP leases (dnsmasq's
# file: "expiry mac ip hostname clientid"). nmap runs with -n: reverse DNS would add tens of seconds per
# scan whenever the resolver is slow, and the leases hold the names devices gave themselves anyway.
[ -r "$LEASES_FILE" ] || LEASES_FILE=/dev/null
awk -v scanned="$SCANNED_AT" -v leases="$LEASES_FILE" '
function attr(s, name,   m) {
	if (match(s, name "=\"[^\"]*\"")) { m = substr(s, RSTART + length(name) + 2, RLENGTH - length(name) - 3); return m }
	return ""
}
function unxml(s) {
	gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s); gsub(/&apos;/, "'\''", s); gsub(/&amp;/, "\\&", s)
	return s
}
function esc(s,   out, i, c) {
	out = ""
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c == "\\" || c == "\"") out = out "\\" c
		else if (c < " ") out = out " "
		else out = out c
	}
	return out
}
function flush() {
	if (ip != "" && up) {
		if (name == "" && (ip in leased)) name = leased[ip]
		d = "{\"ip\":\"" ip "\""
		if (mac != "") d = d ",\"mac\":\"" tolower(mac) "\""
		if (name != "") d = d ",\"hostname\":\"" esc(name) "\""
		devices = devices (n++ ? "," : "") d "}"
	}
	ip = ""; mac = ""; name = ""; up = 0
}
FILENAME == leases { if ($4 != "" && $4 != "*") leased[$3] = $4; next }
/<host[ >]/ { flush() }
/<status / { if (attr($0, "state") == "up") up = 1 }
/<address / {
	t = attr($0, "addrtype")
	if (t == "ipv4") ip = attr($0, "addr")
	else if (t == "mac") mac = attr($0, "addr")
}
/<hostname / { if (name == "") name = unxml(attr($0, "name")) }
END {
	flush()
	printf "{\"scannedAt\":\"%s\",\"devices\":[%s]}\n", scanned, devices
}' "$LEASES_FILE" "$WORK/scan.xml" >"$WORK/report.json" || { log "could not parse nmap output"; exit 1; }

COUNT=$(grep -o '"ip":' "$WORK/report.json" | wc -l | tr -d ' ')
mv "$WORK/report.json" "$SPOOL_DIR/$EPOCH-$$.json"

# Bounded spool: keep the newest SPOOL_MAX reports; an outage longer than that loses the oldest only.
ls "$SPOOL_DIR" | grep '\.json$' | sort -n >"$WORK/spool"
TOTAL=$(wc -l <"$WORK/spool" | tr -d ' ')
if [ "$TOTAL" -gt "$SPOOL_MAX" ]; then
	head -n $((TOTAL - SPOOL_MAX)) "$WORK/spool" | while read -r old; do rm -f "$SPOOL_DIR/$old"; done
	log "spool full: dropped $((TOTAL - SPOOL_MAX)) oldest report(s)"
	ls "$SPOOL_DIR" | grep '\.json$' | sort -n >"$WORK/spool"
fi

post() {
	# The key travels in a curl config read from stdin: printf is a shell builtin, so no argv holds it.
	printf 'header = "X-API-Key: %s"\n' "$API_KEY" |
		curl -sS -o "$WORK/response" -w '%{http_code}' --max-time "$TIMEOUT" -K - ${CA_FILE:+--cacert "$CA_FILE"} \
			-H 'Content-Type: application/json' --data-binary "@$1" \
			"$CONTROLLER_URL/api/sites/$SITE/devices" 2>"$WORK/curl.err"
}

SENT=0
FAILED=0
while read -r report; do
	status=$(post "$SPOOL_DIR/$report")
	case "$status" in
		2??)
			rm -f "$SPOOL_DIR/$report"
			SENT=$((SENT + 1))
			;;
		400 | 413 | 422)
			# The controller will never accept this report (malformed): keeping it would block the spool.
			log "controller rejected report $report with HTTP $status: $(head -c 200 "$WORK/response")"
			rm -f "$SPOOL_DIR/$report"
			;;
		*)
			# Unreachable, 5xx, or a key the controller does not know yet (401): keep it for the next run.
			log "report $report not delivered (HTTP ${status:-none}: $(head -c 200 "$WORK/curl.err")); kept in $SPOOL_DIR"
			FAILED=1
			break
			;;
	esac
done <"$WORK/spool"

LEFT=$(ls "$SPOOL_DIR" | grep -c '\.json$')
log "site $SITE: $COUNT device(s) up; $SENT report(s) delivered; $LEFT waiting in spool"
[ "$FAILED" -eq 0 ] || exit 1
exit 0
