import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Pure: the profile names an AWS config file (`[profile x]`, `[default]`) or credentials file (`[x]`) defines. */
export function profilesIn(text: string, kind: 'config' | 'credentials'): string[] {
  const names: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line);
    if (!m) continue;
    const section = m[1]!;
    if (kind === 'credentials') names.push(section);
    else if (section === 'default') names.push(section);
    else if (section.startsWith('profile ')) names.push(section.slice('profile '.length).trim());
  }
  return names;
}

/** The shared AWS files: AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config, ~/.aws/credentials. */
function sharedFiles(env: NodeJS.ProcessEnv): { file: string; kind: 'config' | 'credentials' }[] {
  const home = env.HOME || homedir();
  return [
    { file: env.AWS_CONFIG_FILE || join(home, '.aws', 'config'), kind: 'config' },
    { file: env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'), kind: 'credentials' },
  ];
}

/**
 * Whether `profile` is defined in the shared AWS files. Absent is only worth a warning: the SDK also takes
 * credentials from the environment or an instance role.
 */
export async function profileDefined(profile: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const { file, kind } of sharedFiles(env)) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (profilesIn(text, kind).includes(profile)) return true;
  }
  return false;
}

/** Where `profileDefined` looked, for the warning. */
export function profileFiles(env: NodeJS.ProcessEnv): string {
  return sharedFiles(env)
    .map((f) => f.file)
    .join(' or ');
}
