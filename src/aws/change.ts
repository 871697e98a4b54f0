import type { ComponentRef } from './components';

/**
 * The observable fields of one resource, as plain strings (or sets of strings, e.g. ingress rules), so that
 * what is read and what is wanted compare field by field and print the same way in a plan, a drift report
 * and `--json`.
 */
export type Fields = Record<string, string | readonly string[]>;

/** One resource as read from AWS: its id, and the fields its family compares. */
export interface Observed {
  id: string;
  fields: Fields;
}

/** One change of a plan: serialisable, printed by `deploy --dry-run` and `status`, applied by `deploy`. */
export interface Change {
  action: 'create' | 'update' | 'delete' | 'keep';
  resource: ComponentRef;
  id?: string;
  /** For an update, only the fields that differ; for a create, nothing; for a delete, what is there. */
  before?: Fields;
  /** For an update, only the fields that differ; for a create, every wanted field. */
  after?: Fields;
  /** Each difference in words ("ingress tcp/8080 from 10.0.0.0/16 missing"). */
  differences?: string[];
}

/** A value that exists only once an earlier change of the same plan has created it. */
export const pending = (step: string) => `(${step}, once created)`;

const isList = (v: string | readonly string[] | undefined): v is readonly string[] => Array.isArray(v);

/** Pure: the differences of one field in words; a list field is compared as a set. */
export function fieldDifferences(
  field: string,
  before: string | readonly string[] | undefined,
  after: string | readonly string[],
): string[] {
  if (isList(after)) {
    const have = new Set(isList(before) ? before : []);
    const want = new Set(after);
    return [
      ...after.filter((v) => !have.has(v)).map((v) => `${field} ${v} missing`),
      ...[...have].filter((v) => !want.has(v)).map((v) => `${field} ${v} not wanted`),
    ];
  }
  const was = isList(before) ? before.join(',') : (before ?? '');
  if (was === after) return [];
  return [was === '' ? `${field} missing (want ${after})` : `${field} ${was}, want ${after}`];
}

/** Pure: create, update (with the differing fields only) or keep, for one wanted resource. */
export function planResource(resource: ComponentRef, current: Observed | undefined, desired: Fields): Change {
  if (!current) return { action: 'create', resource, after: desired };
  const before: Record<string, string | readonly string[]> = {};
  const after: Record<string, string | readonly string[]> = {};
  const differences: string[] = [];
  for (const [field, want] of Object.entries(desired)) {
    const found = fieldDifferences(field, current.fields[field], want);
    if (found.length === 0) continue;
    before[field] = current.fields[field] ?? '';
    after[field] = want;
    differences.push(...found);
  }
  if (differences.length === 0) return { action: 'keep', resource, id: current.id };
  return { action: 'update', resource, id: current.id, before, after, differences };
}

/** Pure: a resource of the deployment that nothing wants (a duplicate, or added by hand with its tags). */
export const planDelete = (resource: ComponentRef, current: Observed): Change => ({
  action: 'delete',
  resource,
  id: current.id,
  before: current.fields,
  differences: ['not wanted: tagged with this deployment but not part of it'],
});

/** Pure: whether a field of an update differs (what apply has to do). */
export const differs = (change: Change, field: string): boolean =>
  change.action === 'create' || (change.after !== undefined && field in change.after);
