import type { CommandDefinition } from './command';
import { configCommand } from './config';
import { initCommand } from './init';

/** Every command wavectl offers, in the order `--help` lists them. */
export const commands: CommandDefinition[] = [initCommand, configCommand];
