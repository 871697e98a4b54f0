import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS_SERVER_BOOT_CHECK_SCRIPT } from '../src/access-servers/boot-check';
import { renderAccessServerUserData } from '../src/access-servers/user-data';
import { renderControllerKeyUpdate } from '../src/api-key/rotate';
import { renderInstanceDumpScript, renderInstanceRestoreScript } from '../src/backup/instance-database';
import { renderRelayScript } from '../src/controller-client/relay';
import { kasmOidcScriptFor } from '../src/deploy/kasm-oidc-step';
import {
  CONTROLLER_HEALTH_SCRIPT,
  controllerInstallScript,
  KASM_HEALTH_SCRIPT,
  KASM_RELEASE_URL,
  kasmInstallScript,
} from '../src/deploy/service-scripts';
import { renderLogsScript } from '../src/logs/script';
import {
  ACCESS_SERVER_HANDSHAKES_SCRIPT,
  renderAccessServerSyncScript,
  renderAccessServerUpScript,
  renderLoadPeers,
} from '../src/wireguard/render';
import { repoRoot } from './helpers/paths';

/**
 * Every script wavectl sends to an instance (SSM Run Command or user data). The SSM agent runs a command
 * as `sh -c <file>`, and `sh` is dash on Ubuntu (the Kasm host): a script is either bash, said by its first
 * line (the kernel honours it), or POSIX sh that shellcheck accepts as such and dash runs.
 */
const SCRIPTS: Record<string, string> = {
  'controller install': controllerInstallScript({
    region: 'us-east-1',
    bucket: 'bkt',
    bundleKey: 'controller/a.cjs',
    installScriptKey: 'controller/b.sh',
    unitKey: 'controller/c.service',
    apiKeyParameter: '/waveshift/acme/api-key',
  }),
  'Kasm install': kasmInstallScript({
    region: 'us-east-1',
    adminPasswordParameter: '/waveshift/acme/kasm/admin-password',
  }),
  'Kasm OpenID configuration': kasmOidcScriptFor(
    { deployment: 'acme', region: 'us-east-1' },
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  ),
  'controller health': CONTROLLER_HEALTH_SCRIPT,
  'Kasm health': KASM_HEALTH_SCRIPT,
  'access-server user data': renderAccessServerUserData({
    deployment: 'acme',
    region: 'us-east-1',
    index: 3,
    listenPort: 51820,
  }),
  'access-server peers': renderAccessServerSyncScript({ index: 3, listenPort: 51820 }, [
    { site: 7, publicKey: 'x'.repeat(43) + '=' },
  ]),
  // Written by the user data, run by the unit as `/bin/sh <file>`.
  'access-server tunnel up (its unit)':
    renderAccessServerUpScript({ index: 3, listenPort: 51820 }) +
    renderLoadPeers({ index: 3, listenPort: 51820 }),
  'access-server boot check': ACCESS_SERVER_BOOT_CHECK_SCRIPT,
  'access-server handshakes': ACCESS_SERVER_HANDSHAKES_SCRIPT,
  'controller relay (GET)': renderRelayScript({ method: 'GET', path: '/api/sites' }),
  'controller relay (PUT)': renderRelayScript({ method: 'PUT', path: '/api/sites', body: { sites: [] } }),
  'controller database dump (backup)': renderInstanceDumpScript('bkt', 'backups/c.dump', 'us-east-1'),
  'controller database restore': renderInstanceRestoreScript('bkt', 'restores/r.dump', 'us-east-1'),
  'controller API key update (api-key rotate)': renderControllerKeyUpdate(
    '/waveshift/acme/api-key',
    'us-east-1',
  ),
  'logs of the controller': renderLogsScript({ kind: 'controller' }, { sinceSeconds: 3600, lines: 50 }),
  'logs of Kasm': renderLogsScript({ kind: 'kasm' }, { sinceSeconds: 3600, lines: 50 }),
  'logs of an access server': renderLogsScript(
    { kind: 'access-server', index: 3 },
    { sinceSeconds: 3600, lines: 50 },
  ),
};

const shellcheck = (dialect: 'sh' | 'bash', script: string) =>
  spawnSync('shellcheck', ['-s', dialect, '-S', 'warning', '-'], { input: script, encoding: 'utf8' });

describe('scripts sent to instances run under the shell the SSM agent gives them', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(name, () => {
      if (script.startsWith('#!')) {
        expect(script.split('\n')[0], 'a script with a #! line names bash').toBe('#!/bin/bash');
        const check = shellcheck('bash', script);
        expect(check.stdout, 'shellcheck -s bash').toBe('');
        return;
      }
      const check = shellcheck('sh', script);
      expect(check.stdout, 'POSIX sh (shellcheck -s sh)').toBe('');
      expect(check.status).toBe(0);
      const parsed = spawnSync('dash', ['-n'], { input: script, encoding: 'utf8' });
      expect(parsed.stderr, 'dash -n').toBe('');
      expect(parsed.status).toBe(0);
      // Running it under dash gets past any shell option dash lacks (the Kasm bug: set -o pipefail).
      const options = spawnSync(
        'dash',
        [
          '-c',
          `${script
            .split('\n')
            .filter((l) => /^set /.test(l))
            .join('\n')}\necho ran`,
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(options.stdout.trim()).toBe('ran');
    });
  }
});

describe('what the instances install', () => {
  it('builds the controller bundle for the Node.js its instance installs (22: 20 is past its end of life)', async () => {
    const install = await readFile(join(repoRoot, 'src/controller/install/install-controller.sh'), 'utf8');
    const major = /^NODE_MAJOR=(\d+)$/m.exec(install)?.[1];
    expect(major).toBe('22');
    const { extraBuilds } = (await import(join(repoRoot, 'scripts/build-entries.mjs'))) as {
      extraBuilds: { outfile: string; target?: string }[];
    };
    expect(extraBuilds.find((b) => b.outfile === 'dist/controller.cjs')?.target).toBe(`node${major}`);
  });

  it('installs Kasm Workspaces 1.18', () => {
    expect(KASM_RELEASE_URL).toMatch(/\/kasm_release_1\.18\.\d+(\.[0-9a-f]+)?\.tar\.gz$/);
  });
});
