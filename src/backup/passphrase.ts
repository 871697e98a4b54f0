import type { Context } from '../context';
import { UsageError } from '../errors';
import { promptHidden } from '../router/configure-hub';

export const PASSPHRASE_ENV = 'WAVECTL_BACKUP_PASSPHRASE';
const MIN_LENGTH = 12;

/**
 * The archive passphrase: WAVECTL_BACKUP_PASSPHRASE, else a prompt that does not echo (asked twice when a
 * new archive is made). Never from the command line, where other users and shell history would see it.
 */
export async function readPassphrase(ctx: Context, purpose: 'new' | 'existing'): Promise<string> {
  const fromEnv = ctx.env[PASSPHRASE_ENV];
  let passphrase: string;
  if (fromEnv !== undefined) passphrase = fromEnv;
  else {
    if (ctx.options.yes) {
      throw new UsageError(`no passphrase: set ${PASSPHRASE_ENV} (no terminal to ask at)`);
    }
    passphrase = await promptHidden(ctx, 'Backup passphrase: ');
    if (purpose === 'new' && (await promptHidden(ctx, 'Same passphrase again: ')) !== passphrase) {
      throw new UsageError('the two passphrases differ; nothing was written');
    }
  }
  if (purpose === 'new' && passphrase.length < MIN_LENGTH) {
    throw new UsageError(`the backup passphrase needs at least ${MIN_LENGTH} characters`);
  }
  if (passphrase.length === 0) throw new UsageError('the backup passphrase is empty');
  return passphrase;
}
