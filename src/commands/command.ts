import type { Command } from 'commander';
import type { Context } from '../context';

/** Runs a handler with a Context built from the global options; supplied by the CLI to each command. */
export type Runner = <O>(
  handler: (ctx: Context, options: O, args: string[]) => Promise<void>,
) => (...args: unknown[]) => Promise<void>;

/**
 * A command's definition: its options and a handler. Command files import nothing heavy at the top: work
 * modules are imported inside the handler, so `wavectl --help` loads none of them.
 */
export interface CommandDefinition {
  register(program: Command, run: Runner): void;
}
