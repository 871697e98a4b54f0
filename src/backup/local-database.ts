import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ControllerError } from '../errors';

/**
 * The database of a controller run by `wavectl controller serve` next to this deployment: DATABASE_URL when
 * it is set (as serve reads it), else the embedded PostgreSQL in the data directory, found by its password
 * file and the port in PostgreSQL's own postmaster.pid (line 4). The embedded server runs only while its
 * controller runs, so a stopped one is said plainly.
 */
export async function localDatabaseUrl(
  env: NodeJS.ProcessEnv,
  deploymentDir: string,
  dataDir = '.waveshift-controller',
): Promise<string> {
  const fromEnv = env.DATABASE_URL?.trim();
  if (fromEnv) return fromEnv;
  const root = resolve(deploymentDir, dataDir);
  let password: string;
  let pid: string;
  try {
    password = (await readFile(join(root, 'postgres-password'), 'utf8')).trim();
    pid = await readFile(join(root, 'pgdata', 'postmaster.pid'), 'utf8');
  } catch (error) {
    throw new ControllerError(
      `no running local controller database in ${root}: start \`wavectl controller serve\` there, or set DATABASE_URL`,
      { cause: error },
    );
  }
  const port = Number(pid.split('\n')[3]);
  if (!Number.isInteger(port) || port <= 0) {
    throw new ControllerError(
      `cannot read the port of the embedded PostgreSQL in ${root}/pgdata/postmaster.pid`,
    );
  }
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/waveshift`;
}
