import { accessServersCommand } from './access-servers';
import { apiKeyCommand } from './api-key';
import { backupCommand } from './backup';
import { caCommand } from './ca';
import type { CommandDefinition } from './command';
import { configCommand } from './config';
import { configureHubCommand } from './configure-hub';
import { controllerCommand } from './controller';
import { deployCommand } from './deploy';
import { destroyCommand } from './destroy';
import { devicesCommand } from './devices';
import { exportCommand } from './export';
import { groupsCommand } from './groups';
import { initCommand } from './init';
import { logsCommand } from './logs';
import { restoreCommand } from './restore';
import { sitesCommand } from './sites';
import { statusCommand } from './status';
import { usersCommand } from './users';

/** Every command wavectl offers, in the order `--help` lists them. */
export const commands: CommandDefinition[] = [
  initCommand,
  configCommand,
  deployCommand,
  statusCommand,
  caCommand,
  destroyCommand,
  controllerCommand,
  accessServersCommand,
  sitesCommand,
  configureHubCommand,
  backupCommand,
  restoreCommand,
  apiKeyCommand,
  logsCommand,
  exportCommand,
  devicesCommand,
  usersCommand,
  groupsCommand,
];
