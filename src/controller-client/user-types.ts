import type { User } from '../controller/repositories/users';

/** A controller user as the API returns it (schemas/users.ts): never a password hash. */
export type { User } from '../controller/repositories/users';

export interface UserInput {
  username: string;
  password: string;
  role?: User['role'];
  displayName?: string | null;
}

export interface UserChanges {
  password?: string;
  role?: User['role'];
  displayName?: string | null;
  disabled?: boolean;
}
