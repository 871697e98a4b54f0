import type { Login } from '../repositories/users';

export type PasswordFailure = 'unknown-user' | 'wrong-password' | 'disabled';

/** Pure: why a password sign-in fails, as the audit log records it (never shown to the person signing in). */
export function passwordFailure(
  login: Login | undefined,
  passwordValid: boolean,
): PasswordFailure | undefined {
  if (!login) return 'unknown-user';
  if (!passwordValid) return 'wrong-password';
  if (login.user.disabled) return 'disabled';
  return undefined;
}
