#!/usr/bin/env bash
# The main job: a full init → deploy → access-servers → sites → status flow against the local AWS emulator
# (moto server) and a local controller on an embedded PostgreSQL. No AWS account needed.
# Leaves nothing running; the deployment directory is kept (its path is printed) unless DEMO_KEEP=0.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-bed.sh
node scripts/build.mjs

root="$(mktemp -d /tmp/waveshift-demo-XXXXXX)"
chmod 755 "$root"
deployment="$root/demo-us"
mkdir -p "$deployment"
wavectl_cmd=(node "$PWD/dist/wavectl.cjs" --dir "$deployment")
wavectl() { "${wavectl_cmd[@]}" "$@"; }

free_port() { node -e 's=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_http() {
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "demo: $1 did not answer" >&2; return 1
}

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if pgrep -f "$root/controller-data" >/dev/null; then
    echo "demo: a process of the local controller outlived it:" >&2
    pgrep -af "$root/controller-data" >&2
    exit 1
  fi
  if [ "${DEMO_KEEP:-1}" = 0 ]; then rm -rf "$root"; fi
}
trap cleanup EXIT

# The AWS emulator, with a named profile of fake credentials in a private AWS config.
moto_port="$(free_port)"
MOTO_IAM_LOAD_MANAGED_POLICIES=true .venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$root/moto.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$moto_port/moto-api/data.json"
mkdir -p "$root/aws"
printf '[profile demo]\nregion = us-east-1\n' >"$root/aws/config"
printf '[demo]\naws_access_key_id = demo\naws_secret_access_key = demo\n' >"$root/aws/credentials"
export AWS_CONFIG_FILE="$root/aws/config" AWS_SHARED_CREDENTIALS_FILE="$root/aws/credentials"
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN

controller_port="$(free_port)"
echo "== wavectl init"
wavectl init --identity-provider local --profile demo --region us-east-1 --name demo-us
wavectl config set controller.url "http://127.0.0.1:$controller_port"
echo "== wavectl deploy"
wavectl deploy

# The controller runs locally on an embedded PostgreSQL, with the API key deploy stored in (emulated) SSM.
echo "== wavectl controller serve (local, embedded PostgreSQL)"
# Started as node itself, not through the shell function: $! must be the controller's PID so that the
# SIGTERM at the end reaches it and it stops its embedded PostgreSQL on the way out.
"${wavectl_cmd[@]}" controller serve --host 127.0.0.1 --port "$controller_port" \
  --data-dir "$root/controller-data" --api-key-from-ssm >"$root/controller.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$controller_port/health"

echo "== wavectl access-servers --add 1"
wavectl access-servers --add 1
echo "== wavectl sites --add 3"
wavectl sites --add 3
echo "== wavectl sites --list"
wavectl sites --list
echo "== wavectl access-servers --list"
wavectl access-servers --list
echo "== wavectl status"
wavectl status
echo "demo: done; deployment directory $deployment"
