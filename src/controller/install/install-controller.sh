#!/bin/bash
# Installs or updates the Waveshift controller on Amazon Linux 2023. Run as root through SSM Run Command by
# `wavectl deploy`; idempotent, so a re-run upgrades the bundle and changes nothing else.
#
# Inputs (environment):
#   WAVESHIFT_BUNDLE               path of dist/controller.cjs already copied to this instance
#   WAVESHIFT_API_KEY_PARAMETER    SSM SecureString holding the deployment API key
#   AWS_REGION                     region of that parameter
#   WAVESHIFT_PORT                 optional, default 8080
#   WAVESHIFT_UNIT_FILE            optional, a waveshift-controller.service to install instead of the copy below
#   WAVESHIFT_TLS_KEY_PARAMETER    optional, SSM SecureString of the controller's TLS key (PEM); with
#   WAVESHIFT_TLS_CERT_PARAMETER   its certificate's parameter, the controller serves HTTPS on 443 and
#                                  plain HTTP on 127.0.0.1:WAVESHIFT_PORT only (health probe, SSM relay)
#   WAVESHIFT_OIDC_ISSUER          optional, with WAVESHIFT_KASM_CLIENT_SECRET_PARAMETER (SSM SecureString of
#                                  Kasm's client secret): the controller is the OpenID provider under it
#   WAVESHIFT_UPSTREAM_ENV_B64     optional, with WAVESHIFT_IDP_CLIENT_SECRET_PARAMETER (SSM SecureString of
#                                  the upstream identity provider's client secret): controller.env lines of
#                                  the upstream provider (base64), sign-in is delegated to it
#   WAVESHIFT_UPSTREAM_CA_B64      optional, a CA (PEM, base64) to trust for a private upstream provider
#
# The API key never appears in a command line, in this script's output or in SSM's command parameters: it
# goes from Parameter Store straight into two root-only files.
set -euo pipefail
umask 077

: "${WAVESHIFT_BUNDLE:?WAVESHIFT_BUNDLE must name the controller bundle (controller.cjs)}"
: "${WAVESHIFT_API_KEY_PARAMETER:?WAVESHIFT_API_KEY_PARAMETER must name the SSM parameter of the API key}"
: "${AWS_REGION:?AWS_REGION must be set}"
PORT="${WAVESHIFT_PORT:-8080}"
APP_USER=waveshift
DB_NAME=waveshift
INSTALL_DIR=/opt/waveshift
CONFIG_DIR=/etc/waveshift
UNIT=waveshift-controller

log() { printf 'waveshift-install: %s\n' "$*"; }

[ -f "$WAVESHIFT_BUNDLE" ] || { log "bundle $WAVESHIFT_BUNDLE not found"; exit 1; }
case "$PORT" in '' | *[!0-9]*) log "WAVESHIFT_PORT must be a number"; exit 1 ;; esac

# --- packages -------------------------------------------------------------------------------------------
# AL2023's nodejs22 installs node-22 (namespaced beside other versions); a plain `node` of 22 or later does
# too. Node 20 is past its end of life: the bundle is built for 22.
NODE_MAJOR=22
node_binary() {
  if command -v "node-$NODE_MAJOR" >/dev/null 2>&1; then command -v "node-$NODE_MAJOR"; return; fi
  if command -v node >/dev/null 2>&1 && node -e "process.exit(Number(process.versions.node.split('.')[0]) >= $NODE_MAJOR ? 0 : 1)"; then
    command -v node
  fi
}
if [ -z "$(node_binary)" ]; then
  log "installing nodejs$NODE_MAJOR"
  dnf install -y -q "nodejs$NODE_MAJOR"
fi
NODE="$(node_binary)"
[ -n "$NODE" ] || { log "no Node.js $NODE_MAJOR after installing nodejs$NODE_MAJOR"; exit 1; }

if ! command -v postgresql-setup >/dev/null 2>&1; then
  log "installing postgresql15-server"
  dnf install -y -q postgresql15-server
fi

# --- PostgreSQL -----------------------------------------------------------------------------------------
if [ ! -f /var/lib/pgsql/data/PG_VERSION ]; then
  log "initialising PostgreSQL"
  postgresql-setup --initdb
fi
systemctl enable --now postgresql >/dev/null
for _ in $(seq 1 30); do
  runuser -u postgres -- psql -qtAc 'select 1' >/dev/null 2>&1 && break
  sleep 1
done

# The service runs as the system user "waveshift" and reaches its role of the same name over the local
# socket with peer authentication (AL2023's default pg_hba): no database password exists to be leaked.
if ! id -u "$APP_USER" >/dev/null 2>&1; then
  useradd --system --home-dir "$INSTALL_DIR" --no-create-home --shell /sbin/nologin "$APP_USER"
fi
psql_admin() { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_admin -c "select 1 from pg_roles where rolname = '$APP_USER'")" != "1" ]; then
  log "creating database role $APP_USER"
  psql_admin -c "create role $APP_USER login"
fi
if [ "$(psql_admin -c "select 1 from pg_database where datname = '$DB_NAME'")" != "1" ]; then
  log "creating database $DB_NAME"
  psql_admin -c "create database $DB_NAME owner $APP_USER"
fi

# --- files ----------------------------------------------------------------------------------------------
install -d -m 0755 -o root -g root "$INSTALL_DIR"
install -d -m 0700 -o root -g root "$CONFIG_DIR"
install -m 0644 -o root -g root "$WAVESHIFT_BUNDLE" "$INSTALL_DIR/controller.cjs.new"
mv -f "$INSTALL_DIR/controller.cjs.new" "$INSTALL_DIR/controller.cjs"
ln -sfn "$NODE" "$INSTALL_DIR/node"

API_KEY="$(aws ssm get-parameter --with-decryption --name "$WAVESHIFT_API_KEY_PARAMETER" --region "$AWS_REGION" \
  --query Parameter.Value --output text)"
if [ -z "$API_KEY" ] || [ "$API_KEY" = "None" ]; then
  log "SSM parameter $WAVESHIFT_API_KEY_PARAMETER is empty"
  exit 1
fi

# Written to a temporary file then renamed: a reader never sees half a file. Mode 600, owner root.
write_secret_file() {
  local target="$1" temp
  temp="$(mktemp "$target.XXXXXX")"
  cat >"$temp"
  chmod 600 "$temp"
  mv -f "$temp" "$target"
}
# TLS: key and certificate from Parameter Store into root-only files; systemd hands them to the service
# (LoadCredential), which runs unprivileged and binds 443 with CAP_NET_BIND_SERVICE only.
LISTEN_ENV="PORT=$PORT"
if [ -n "${WAVESHIFT_TLS_KEY_PARAMETER:-}" ] && [ -n "${WAVESHIFT_TLS_CERT_PARAMETER:-}" ]; then
  ssm_value() {
    aws ssm get-parameter --with-decryption --name "$1" --region "$AWS_REGION" --query Parameter.Value --output text
  }
  ssm_value "$WAVESHIFT_TLS_KEY_PARAMETER" | write_secret_file "$CONFIG_DIR/tls-key.pem"
  ssm_value "$WAVESHIFT_TLS_CERT_PARAMETER" | write_secret_file "$CONFIG_DIR/tls-cert.pem"
  grep -q 'BEGIN CERTIFICATE' "$CONFIG_DIR/tls-cert.pem" || { log "no certificate in $WAVESHIFT_TLS_CERT_PARAMETER"; exit 1; }
  CREDENTIALS="/run/credentials/$UNIT.service"
  LISTEN_ENV="PORT=443
WAVESHIFT_LOOPBACK_HTTP_PORT=$PORT
WAVESHIFT_TLS_CERT_FILE=$CREDENTIALS/tls-cert
WAVESHIFT_TLS_KEY_FILE=$CREDENTIALS/tls-key"
fi
# A SecureString's value on stdout; an empty one fails (in a command substitution: set -e stops the script).
ssm_secret() {
  local value
  value="$(aws ssm get-parameter --with-decryption --name "$1" --region "$AWS_REGION" \
    --query Parameter.Value --output text)"
  if [ -z "$value" ] || [ "$value" = "None" ]; then
    log "SSM parameter $1 is empty"
    exit 1
  fi
  printf '%s' "$value"
}
OIDC_ENV=""
if [ -n "${WAVESHIFT_OIDC_ISSUER:-}" ] && [ -n "${WAVESHIFT_KASM_CLIENT_SECRET_PARAMETER:-}" ]; then
  KASM_SECRET="$(ssm_secret "$WAVESHIFT_KASM_CLIENT_SECRET_PARAMETER")"
  OIDC_ENV="WAVESHIFT_OIDC_ISSUER=$WAVESHIFT_OIDC_ISSUER
WAVESHIFT_KASM_CLIENT_SECRET=$KASM_SECRET"
  unset KASM_SECRET
fi
UPSTREAM_ENV=""
if [ -n "${WAVESHIFT_UPSTREAM_ENV_B64:-}" ] && [ -n "${WAVESHIFT_IDP_CLIENT_SECRET_PARAMETER:-}" ]; then
  IDP_SECRET="$(ssm_secret "$WAVESHIFT_IDP_CLIENT_SECRET_PARAMETER")"
  # Double-quoted for systemd's EnvironmentFile, which would otherwise take quotes in the secret as its own.
  UPSTREAM_ENV="$(printf '%s' "$WAVESHIFT_UPSTREAM_ENV_B64" | base64 -d)
WAVESHIFT_IDP_CLIENT_SECRET=\"$(printf '%s' "$IDP_SECRET" | sed 's/[\\"`$]/\\&/g')\""
  unset IDP_SECRET
  if [ -n "${WAVESHIFT_UPSTREAM_CA_B64:-}" ]; then
    # Not a secret: readable by the unprivileged service.
    printf '%s' "$WAVESHIFT_UPSTREAM_CA_B64" | base64 -d >"$INSTALL_DIR/upstream-ca.pem.new"
    chmod 644 "$INSTALL_DIR/upstream-ca.pem.new"
    mv -f "$INSTALL_DIR/upstream-ca.pem.new" "$INSTALL_DIR/upstream-ca.pem"
    UPSTREAM_ENV="$UPSTREAM_ENV
WAVESHIFT_UPSTREAM_CA_FILE=$INSTALL_DIR/upstream-ca.pem"
  fi
fi
write_secret_file "$CONFIG_DIR/controller.env" <<ENV
WAVESHIFT_API_KEY=$API_KEY
DATABASE_URL=postgresql://$APP_USER@/$DB_NAME?host=/run/postgresql
$LISTEN_ENV
$OIDC_ENV
$UPSTREAM_ENV
HOST=0.0.0.0
ENV
unset OIDC_ENV UPSTREAM_ENV
# For relay commands on this instance: curl -H @/etc/waveshift/api-key-header http://127.0.0.1:8080/...
write_secret_file "$CONFIG_DIR/api-key-header" <<HEADER
X-API-Key: $API_KEY
HEADER
unset API_KEY

if [ -n "${WAVESHIFT_UNIT_FILE:-}" ]; then
  install -m 0644 -o root -g root "$WAVESHIFT_UNIT_FILE" "/etc/systemd/system/$UNIT.service"
else
  write_unit() { cat >"/etc/systemd/system/$UNIT.service"; chmod 644 "/etc/systemd/system/$UNIT.service"; }
  # Identical to src/controller/install/waveshift-controller.service (a test keeps them equal).
  write_unit <<'UNIT_FILE'
[Unit]
Description=Waveshift controller (Fastify + PostgreSQL)
Documentation=https://github.com/waveshift/wavectl
Requires=postgresql.service
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
User=waveshift
Group=waveshift
# WAVESHIFT_API_KEY, DATABASE_URL, PORT (mode 600, read by systemd before it drops privileges).
EnvironmentFile=/etc/waveshift/controller.env
Environment=NODE_ENV=production
# The TLS key and certificate (root-only files) as credentials the unprivileged service can read.
LoadCredential=tls-key:/etc/waveshift/tls-key.pem
LoadCredential=tls-cert:/etc/waveshift/tls-cert.pem
# HTTPS on 443 without root.
AmbientCapabilities=CAP_NET_BIND_SERVICE
ExecStart=/opt/waveshift/node /opt/waveshift/controller.cjs
# SIGTERM: the controller stops accepting, finishes requests in flight, closes its pool, exits.
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=yes
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
UNIT_FILE
fi

systemctl daemon-reload
systemctl enable "$UNIT" >/dev/null 2>&1
systemctl restart "$UNIT"

# --- wait for health ------------------------------------------------------------------------------------
for _ in $(seq 1 60); do
  if curl -fsS --max-time 2 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
    log "controller healthy on port $PORT"
    exit 0
  fi
  sleep 1
done
log "controller did not become healthy within 60s; last log lines:"
journalctl -u "$UNIT" -n 40 --no-pager || true
exit 1
