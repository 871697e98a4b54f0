/** A group as the API returns it (schemas/groups.ts), with its members. */
export type { Group, GroupMember } from '../controller/repositories/groups';

export interface GroupInput {
  name: string;
  description?: string | null;
}
