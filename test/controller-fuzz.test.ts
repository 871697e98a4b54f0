import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningController, startController } from '../src/controller/server';
import { accessServerInput, DEPLOYMENT, siteInput, TEST_API_KEY } from './helpers/controller';
import { repoRoot } from './helpers/paths';
import { type PostgresServer, startPostgres } from './helpers/postgres';
import { makeTempDir } from './helpers/tmp';

/**
 * Schemathesis against the real controller and PostgreSQL: every operation of the OpenAPI document, with
 * data generated from its schemas (valid and invalid), every check on. Any 5xx, or any answer that breaks
 * the document, fails the suite. A fixed seed and bounded examples keep it reproducible and short.
 */
const SCHEMATHESIS = join(repoRoot, '.venv', 'bin', 'schemathesis');
const SEED = 20261126;

/**
 * Rules JSON Schema cannot say (a site's cidr follows its number, a body's number equals the path's, no
 * duplicates in a batch, a device address inside its site, a paging cursor that only the controller makes)
 * are documented in those operations' descriptions and answered with a 400: schema-valid data that breaks
 * them is rightly refused there.
 */
const CROSS_FIELD_RULES = [
  'PUT /api/sites/{number}',
  'PUT /api/sites',
  'PUT /api/access-servers/{index}',
  'PUT /api/access-servers',
  'POST /api/sites/{number}/devices',
  'GET /api/devices',
];
// The deployment key is the credential under test: schemathesis must not swap it for a session of a user
// it signs up itself (it detects POST /users + POST /auth/login as a sign-up flow).
const ROTATION = 'PUT /api/deployment-key';
const EVENT_STREAM = 'GET /api/devices/events';
const CONFIG = `[auth]
auto-signup = false

${CROSS_FIELD_RULES.map(
  (name) => `[[operations]]
include-name = "${name}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
`,
).join('\n')}`;

let server: PostgresServer;
let controller: RunningController;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;

beforeAll(async () => {
  if (!existsSync(SCHEMATHESIS)) {
    throw new Error('schemathesis is not installed in .venv; run scripts/setup-test-bed.sh');
  }
  tmp = await makeTempDir('wavectl-fuzz-');
  server = await startPostgres();
  controller = await startController({
    host: '127.0.0.1',
    port: 0,
    apiKey: TEST_API_KEY,
    databaseUrl: await server.createDatabase('fuzz'),
    // The brute-force brake would answer the fuzzer's logins with 429s only.
    authRateLimit: { max: 1_000_000, timeWindowMs: 60_000 },
  });
  // Something to find, change and delete: a fuzzer on empty tables mostly meets 404s.
  const seed = (method: string, path: string, body: unknown) =>
    fetch(`${controller.url}${path}`, {
      method,
      headers: { ...DEPLOYMENT, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await seed('PUT', '/api/access-servers', {
    accessServers: [0, 1].map((index) => ({ index, ...accessServerInput(index) })),
  });
  await seed('PUT', '/api/sites', { sites: [0, 1, 2].map((n) => ({ number: n, ...siteInput(n) })) });
  const admin = await seed('POST', '/users', {
    username: 'fuzz-admin',
    password: 'a-long-password-1',
    role: 'admin',
  });
  const group = await seed('POST', '/api/groups', { name: 'fuzz-group', description: 'seeded' });
  const ids = [
    ((await group.json()) as { group: { id: number } }).group.id,
    ((await admin.json()) as { user: { id: number } }).user.id,
  ];
  const member = await fetch(`${controller.url}/api/groups/${ids[0]}/members/${ids[1]}`, {
    method: 'PUT',
    headers: DEPLOYMENT,
  });
  expect(member.status).toBe(200);
});

afterAll(async () => {
  await controller?.close();
  await server?.stop();
  await tmp?.remove();
});

interface Run {
  code: number;
  output: string;
}

function schemathesis(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      SCHEMATHESIS,
      args,
      {
        cwd: tmp.path,
        env: { PATH: process.env.PATH, HOME: tmp.path, NO_COLOR: '1', SCHEMATHESIS_HOOKS: '' },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 150_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

describe('schemathesis against the controller', () => {
  it('finds no 5xx and no answer outside the OpenAPI document, statelessly and through links', async () => {
    await writeFile(join(tmp.path, 'schemathesis.toml'), CONFIG);
    const run = await schemathesis([
      'run',
      `${controller.url}/openapi.json`,
      '--url',
      controller.url,
      '--checks',
      'all',
      '--seed',
      String(SEED),
      '--max-examples',
      '25',
      // One worker: Python 3.11 before 3.11.9 can fail ast.parse in hypothesis when two threads race.
      '--workers',
      '1',
      '--phases',
      'examples,coverage,fuzzing,stateful',
      '--header',
      `X-API-Key:${TEST_API_KEY}`,
      '--request-timeout',
      '20',
      '--generation-database',
      'none',
      // Rotating the deployment key would lock the fuzzer out of every later request (its key expires after
      // the generated grace period); the rotation route's validation and effect have their own tests.
      '--exclude-name',
      ROTATION,
      // A server-sent event stream never ends: every request would wait out the request timeout. Its
      // validation and events are tested against the real controller in devices.test.ts.
      '--exclude-name',
      EVENT_STREAM,
      '--no-color',
    ]);
    expect(run.output).not.toContain(TEST_API_KEY);
    expect(run.code, run.output).toBe(0);
    // Every operation of the document was exercised.
    const document = (await (await fetch(`${controller.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(document.paths).flatMap((methods) =>
      Object.keys(methods).filter((m) => ['get', 'put', 'post', 'patch', 'delete'].includes(m)),
    ).length;
    expect(operations).toBeGreaterThan(20);
    // All but the two excluded above.
    expect(run.output).toMatch(new RegExp(`Tested: ${operations - 2}\\b`));
    expect(run.output).toMatch(/✅ {1,2}Stateful/);
    expect(run.output).toMatch(/API Links: +[1-9]\d* covered/);
  }, 180_000);
});
