import { randomBytes } from 'node:crypto';
import type { Context } from '../context';
import { passwordSchema } from '../controller/schemas/users';
import { UsageError } from '../errors';

export type PasswordSource = 'prompt' | 'stdin' | 'generate';

/** The controller's minimum. */
const MIN_PASSWORD_LENGTH = passwordSchema.minLength;

/** 18 random bytes, base64url: 24 characters, 144 bits. */
export const generatePassword = (): string => randomBytes(18).toString('base64url');

async function readAll(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * A new password, never from argv: typed twice at a terminal, read from stdin (`--password-stdin`), or
 * generated (`--generate-password`, shown once in the result). Without a terminal a prompt is refused.
 */
export async function obtainPassword(
  ctx: Context,
  source: PasswordSource,
): Promise<{ password: string; generated: boolean }> {
  if (source === 'generate') return { password: generatePassword(), generated: true };
  let password: string;
  if (source === 'stdin') {
    password = await readAll(ctx);
  } else {
    if (!(ctx.stdin as NodeJS.ReadStream).isTTY) {
      throw new UsageError('no terminal to type a password: use --password-stdin or --generate-password');
    }
    const { promptHidden } = await import('../router/configure-hub');
    password = await promptHidden(ctx, 'New password: ');
    if ((await promptHidden(ctx, 'Again: ')) !== password) throw new UsageError('the passwords differ');
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new UsageError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  return { password, generated: false };
}
