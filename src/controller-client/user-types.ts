/** A controller user as the API returns it (schemas/users.ts). */
export interface User {
  id: number;
  username: string;
  displayName: string | null;
  role: 'admin' | 'user';
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

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
