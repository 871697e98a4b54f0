import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningController, startController } from '../src/controller/server';
import { ControllerClient } from '../src/controller-client/client';
import { parseRelayOutput, relayTransport, renderRelayScript } from '../src/controller-client/relay';
import { hashScannerKey } from '../src/sites/scanner-key';
import { generateKeyPair } from '../src/wireguard/keys';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

const run = promisify(execFile);
const API_KEY = 'relay-test-deployment-key-abcdef0123456789';

/**
 * The SSM relay's script is what runs on the controller instance. Here it runs in a local shell against a
 * real controller, with the API key in a header file as on the instance: the same curl, gzip and base64.
 */
describe('controller relay script (curl on the controller instance) against the real controller', () => {
  let postgres: PostgresServer;
  let controller: RunningController;
  let tmp: Awaited<ReturnType<typeof makeTempDir>>;
  let client: ControllerClient;
  const scripts: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir();
    postgres = await startPostgres();
    controller = await startController({
      host: '127.0.0.1',
      port: 0,
      databaseUrl: await postgres.createDatabase('relay'),
      apiKey: API_KEY,
      logger: false,
    });
    const headerFile = join(tmp.path, 'api-key-header');
    await writeFile(headerFile, `X-API-Key: ${API_KEY}\n`, { mode: 0o600 });
    client = new ControllerClient(
      relayTransport(
        'local shell',
        async (script) => {
          scripts.push(script);
          try {
            const out = await run('bash', ['-c', script]);
            return { ...out, ok: true };
          } catch (error) {
            const e = error as { stdout: string; stderr: string };
            return { stdout: e.stdout, stderr: e.stderr, ok: false };
          }
        },
        { baseUrl: controller.url, headerFile },
      ),
    );
  }, 120_000);
  afterAll(async () => {
    await controller?.close();
    await postgres?.stop();
    await tmp?.remove();
  });

  it('registers 256 sites in one relay call that carries no key, inside SSM limits', async () => {
    const sites = Array.from({ length: 256 }, (_, n) => ({
      number: n,
      name: `site-${n}`,
      cidr: `10.8.${n}.0/24`,
      publicKey: generateKeyPair().publicKey,
      accessServer: 0,
      scannerKeyHash: hashScannerKey(`scanner-key-${n}`),
    }));
    await client.putAccessServers([
      {
        index: 0,
        publicKey: generateKeyPair().publicKey,
        endpoint: '198.51.100.7:51820',
        tunnelAddress: '10.9.0.1',
        instanceId: null,
      },
    ]);
    const registered = await client.putSites(sites);
    expect(registered).toHaveLength(256);
    expect(client.roundTrips).toBe(2);
    const script = scripts.at(-1)!;
    expect(script).not.toContain(API_KEY);
    expect(script).toContain('-H @');
    // AWS-RunShellScript parameters must stay well under SSM's document size limit.
    expect(script.length).toBeLessThan(40_000);
    expect((await client.listSites()).map((s) => s.number)).toEqual(sites.map((s) => s.number));
  });

  it('reports the controller’s refusal with its status and message', async () => {
    await expect(client.deleteAccessServer(0)).rejects.toThrow(/HTTP 409/);
    const bad = new ControllerClient(
      relayTransport(
        'local shell',
        async (script) => ({ ...(await run('bash', ['-c', script])), ok: true }),
        {
          baseUrl: controller.url,
          headerFile: '/dev/null',
        },
      ),
    );
    await expect(bad.listSites()).rejects.toThrow(/HTTP 401.*API key/);
  });

  it('manages groups and their members through the relay (a PUT and DELETE without a body)', async () => {
    const user = await controller.app.inject({
      method: 'POST',
      url: '/users',
      headers: { 'x-api-key': API_KEY },
      payload: { username: 'relayed', password: 'relayed-password-1' },
    });
    const userId = user.json().user.id as number;
    const group = await client.createGroup({ name: 'relay-ops', description: null });
    expect((await client.setMember(group.id, userId, true)).group.members).toEqual([
      { userId, username: 'relayed', source: 'local' },
    ]);
    expect((await client.setMember(group.id, userId, false)).changed).toBe(true);
    expect(await client.deleteGroup(group.id)).toBe(true);
    expect((await client.listGroups()).map((g) => g.name)).not.toContain('relay-ops');
  });

  it('parses relay output and refuses output SSM would have truncated', () => {
    expect(() => parseRelayOutput('nothing here')).toThrow(/printed no controller answer/);
    expect(() => parseRelayOutput('x'.repeat(24_000))).toThrow(/too large/);
    expect(() => renderRelayScript({ method: 'GET', path: "/api/sites'; rm -rf /" })).toThrow(RangeError);
  });
});
