import { parameterNames } from '../aws/naming';
import {
  ACCESS_SERVER_KEY_FILE,
  ACCESS_SERVER_PEERS_FILE,
  renderAccessServerUpScript,
  renderLoadPeers,
} from '../wireguard/render';

export const UP_SCRIPT_FILE = '/etc/waveshift/wg-up.sh';

/**
 * The access server's first-boot script (EC2 user data, which holds no secret): installs WireGuard and
 * nftables, fetches the private key from SSM with the instance's own role, and installs a unit that brings
 * the tunnel up at every boot with the peers wavectl last pushed.
 */
export function renderAccessServerUserData(input: {
  deployment: string;
  region: string;
  index: number;
  listenPort: number;
}): string {
  const network = { index: input.index, listenPort: input.listenPort };
  const keyParameter = parameterNames(input.deployment).accessServerPrivateKey(input.index);
  return `#!/bin/bash
set -euo pipefail
# The Elastic IP is attached a little after launch: until then there is no way out, so keep trying.
retry() { for _ in $(seq 1 60); do "$@" && return 0; sleep 10; done; return 1; }
retry dnf install -y -q wireguard-tools nftables
umask 077
mkdir -p /etc/wireguard /etc/waveshift
retry aws ssm get-parameter --region ${input.region} --name ${keyParameter} --with-decryption --query Parameter.Value --output text > ${ACCESS_SERVER_KEY_FILE}.new
mv ${ACCESS_SERVER_KEY_FILE}.new ${ACCESS_SERVER_KEY_FILE}
[ -f ${ACCESS_SERVER_PEERS_FILE} ] || : > ${ACCESS_SERVER_PEERS_FILE}
cat > ${UP_SCRIPT_FILE} <<'UP'
${renderAccessServerUpScript(network)}${renderLoadPeers(network)}UP
chmod 700 ${UP_SCRIPT_FILE}
cat > /etc/systemd/system/waveshift-wireguard.service <<'UNIT'
[Unit]
Description=Waveshift WireGuard access server
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh ${UP_SCRIPT_FILE}

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now waveshift-wireguard.service
`;
}
