import type { ConfigureHubOptions } from '../router/configure-hub';
import type { CommandDefinition } from './command';

export const configureHubCommand: CommandDefinition = {
  register(program, run) {
    program
      .command('configure-hub')
      .description(
        "configure sites' GL.iNet routers over SSH: LAN, WireGuard tunnel, firewall, DNS, device scanner",
      )
      .option('--site <n>', 'configure the router of site N')
      .option('--sites <list>', 'configure several, e.g. 0-9,12 (their addresses recorded in wavectl.json)')
      .option('--all', 'configure every site with a recorded router address')
      .option('--host <address>', 'router address for --site (default: recorded, else 192.168.8.1)')
      .option('--port <port>', 'SSH port for --site (default 22)')
      .option('--user <name>', 'SSH user (default root)')
      .option(
        '--identity <file>',
        'SSH private key file (else ssh-agent, else WAVECTL_ROUTER_PASSWORD or a prompt)',
      )
      .option('--accept-new-host-key', "pin a router's host key on first contact without asking (CI)")
      .option('--dry-run', 'print the uci batch and files it would write; change nothing')
      .option(
        '--check',
        'compare each router with what configure-hub would write, option by option; change nothing (exit 1 when drifted)',
      )
      .option(
        '--reboot',
        'reboot even when nothing changed (without it only a LAN move reboots; tunnel and DNS changes reload)',
      )
      .option(
        '--manage-over-tunnel',
        "let the tunnel reach the router itself (SSH, web UI); by default the tunnel's zone rejects input but ICMP (the choice is recorded per site)",
      )
      .option('--no-manage-over-tunnel', 'reject input from the tunnel again (but ICMP)')
      .option('--no-install', 'do not install missing packages with opkg; fail naming them')
      .option(
        '--scan-interval <minutes>',
        'device scan interval, 1-60 (default: as last applied to the site, else 5)',
      )
      .option('--concurrency <n>', 'routers configured at once (default 16)')
      .option(
        '--timeout <seconds>',
        'time limit for a router to come back and its tunnel to come up (default 300)',
      )
      .option(
        '--rollback-timeout <seconds>',
        'the router restores its old configuration unless confirmed in time (default 120)',
      )
      .option(
        '--reach <template>',
        'address to reconnect at after the LAN moves: {lan} (default) or a template with {site}',
      )
      .action(
        run<ConfigureHubOptions & { check?: boolean }>(async (ctx, options) => {
          if (options.check) {
            const { checkHub, renderCheckHub, assertInSync } = await import('../router/check-hub');
            const result = await checkHub(ctx, options);
            ctx.io.result(result, renderCheckHub);
            assertInSync(result);
            return;
          }
          const { configureHub, renderConfigureHub, assertNoFailures } = await import(
            '../router/configure-hub'
          );
          const result = await configureHub(ctx, options);
          ctx.io.result(result, renderConfigureHub);
          assertNoFailures(result);
        }),
      );
  },
};
