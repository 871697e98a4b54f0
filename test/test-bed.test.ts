import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithNetns, NetLab } from './helpers/netns';
import { type PostgresServer, startPostgres } from './helpers/postgres';

describe('the real PostgreSQL of the test bed', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(() => server.stop());

  it('serves queries and isolated databases', async () => {
    const url = await server.createDatabase('bed_check');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string; db: string }>(
        'select version(), current_database() as db',
      );
      expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
      expect(rows[0]?.db).toBe('bed_check');
    } finally {
      await client.end();
    }
  });
});

describeWithNetns('network namespaces of the test bed', () => {
  const lab = new NetLab('bed');
  afterAll(() => lab.cleanup());

  it('links two hosts that reach each other and nothing else', async () => {
    const a = await lab.host('a');
    const b = await lab.host('b');
    await lab.link(a, '192.0.2.1/30', b, '192.0.2.2/30');
    const ping = await lab.exec(a, ['busybox', 'ping', '-c', '1', '-W', '2', '192.0.2.2']);
    expect(ping.stdout).toMatch(/1 packets received/);
    // The host's own loopback services are not reachable from inside a namespace.
    await expect(lab.exec(a, ['busybox', 'ping', '-c', '1', '-W', '1', '192.0.2.9'])).rejects.toThrow();
    const { stdout } = await lab.exec(b, ['ip', '-o', 'addr', 'show']);
    expect(stdout).toContain('192.0.2.2/30');
  });
});
