import type { Readable, Writable } from 'node:stream';
import type { AwsClients } from './aws/clients';
import type { WavectlConfig } from './config/schema';
import { AbortedError, ConsentError } from './errors';
import type { Output } from './io/output';

export interface GlobalOptions {
  dir: string;
  json: boolean;
  verbose: boolean;
  /** `--yes` given: the operator consents to destructive acts in advance. Never implied. */
  yes: boolean;
  /** Someone can be asked: stdin is a terminal and CI is not set. */
  terminal: boolean;
  /** Other (non-destructive) prompts may be asked: a terminal and no --yes; otherwise they take defaults. */
  prompts: boolean;
  color: boolean;
  endpointUrl?: string;
}

/**
 * What every command handler receives. Heavy pieces (config schema, AWS SDK) are loaded on first use so that
 * a command pays only for what it touches.
 */
export interface Context {
  readonly options: GlobalOptions;
  readonly io: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: Readable;
  /** Where prompts are written: the terminal's stderr, so stdout stays clean for --json. */
  readonly stderr: Writable;
  /** The invoked command's name, as recorded in the lock file. */
  readonly commandName: string;
  loadConfig(): Promise<WavectlConfig>;
  /** Validates and writes wavectl.json atomically. Call inside `withLock`. */
  saveConfig(config: WavectlConfig): Promise<void>;
  /** Runs `work` holding the deployment directory's lock. */
  withLock<T>(work: () => Promise<T>): Promise<T>;
  /** AWS clients for the loaded config's profile and region (endpoint overrides honoured). */
  aws(): Promise<AwsClients>;
  /**
   * Asks the operator to type `expected`; true at once under --yes. `act` names a destructive act ("destroy
   * deployment x"): without --yes and with no terminal to ask, it is refused (ConsentError), never assumed.
   */
  confirm(question: string, expected: string, act?: string, hint?: string): Promise<boolean>;
  /** Releases what the command opened (SDK sockets). */
  close(): void;
}

export interface ContextInputs {
  options: GlobalOptions;
  io: Output;
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stderr: Writable;
  commandName: string;
}

export function createContext(inputs: ContextInputs): Context {
  let config: Promise<WavectlConfig> | undefined;
  let clients: AwsClients | undefined;
  const ctx: Context = {
    ...inputs,
    loadConfig() {
      config ??= import('./config/file').then((m) => m.readConfig(inputs.options.dir));
      return config;
    },
    async saveConfig(next) {
      const { writeConfig } = await import('./config/file');
      await writeConfig(inputs.options.dir, next);
      config = Promise.resolve(next);
    },
    async withLock(work) {
      const { withDirectoryLock } = await import('./config/lock');
      return withDirectoryLock(inputs.options.dir, inputs.commandName, async () => {
        // Another process may have changed the file while we waited for the lock.
        config = undefined;
        return work();
      });
    },
    async aws() {
      if (clients) return clients;
      const loaded = await ctx.loadConfig();
      const { createAwsClients, resolveEndpoint } = await import('./aws/clients');
      const { assertEndpointUrls } = await import('./config/endpoint-url');
      assertEndpointUrls([
        ['--endpoint-url', inputs.options.endpointUrl],
        ['AWS_ENDPOINT_URL', inputs.env.AWS_ENDPOINT_URL || undefined],
      ]);
      clients = createAwsClients({
        profile: loaded.aws.profile,
        region: loaded.aws.region,
        endpointUrl: resolveEndpoint(inputs.options.endpointUrl, inputs.env, loaded.aws.endpointUrl),
      });
      return clients;
    },
    async confirm(question, expected, act, hint) {
      if (inputs.options.yes) return true;
      if (!inputs.options.terminal) {
        throw new ConsentError(
          `refusing to ${act ?? 'continue'} without --yes (no terminal to ask)${hint ? `; ${hint}` : ''}`,
        );
      }
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: inputs.stdin, output: inputs.stderr, terminal: false });
      try {
        const answer = await rl.question(`${question} Type "${expected}" to continue: `);
        if (answer.trim() !== expected) throw new AbortedError('not confirmed; nothing was changed');
        return true;
      } finally {
        rl.close();
      }
    },
    close() {
      clients?.destroy();
    },
  };
  return ctx;
}
