/**
 * How sites and wavectl reach the services in the private subnet. Two private hosted zones, not one zone
 * named "internal": that would shadow AWS's own ec2.internal host names inside the VPC.
 */
export const CONTROLLER_DNS_NAME = 'waveshift.internal';
export const KASM_DNS_NAME = 'kasm.internal';
/** The controller's HTTP API port. Plain HTTP: from sites it travels inside WireGuard, from wavectl through SSM. */
export const CONTROLLER_PORT = 8080;
export const controllerUrlThroughTunnel = `http://${CONTROLLER_DNS_NAME}:${CONTROLLER_PORT}`;
/** The controller over HTTPS (443, certificate from the deployment CA), once `deploy` has made the CA. */
export const CONTROLLER_HTTPS_URL = `https://${CONTROLLER_DNS_NAME}`;

/** The controller's address on the VPN for this deployment: HTTPS once `deploy` has made the CA. */
export const controllerUrlOnVpn = (config: { tls?: unknown }): string =>
  config.tls ? CONTROLLER_HTTPS_URL : controllerUrlThroughTunnel;
