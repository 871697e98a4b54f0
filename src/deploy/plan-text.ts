import type { Change, Fields } from '../aws/change';
import { ZONES } from '../aws/dns';
import { renderTable } from '../io/output';

const words = (s: string) => s.replace(/-/g, ' ');

/** Pure: a resource in words: "controller security group", "private route table", "kasm.internal A record". */
export function resourceLabel(r: Change['resource']): string {
  const zone = Object.values(ZONES).find((z) => z.component === r.component);
  if (r.kind === 'dns-record' && zone) return `${zone.name} A record`;
  if (r.kind === 'hosted-zone' && zone) return `${zone.name} zone`;
  if (r.kind === 'service') return `${r.component} service`;
  return r.component.endsWith(r.kind) ? words(r.component) : `${words(r.component)} ${words(r.kind)}`;
}

const fieldsText = (fields: Fields | undefined) =>
  Object.entries(fields ?? {})
    .map(([k, v]) => `${k} ${Array.isArray(v) ? (v.length ? v.join(', ') : '(none)') : v}`)
    .join('; ');

/** Pure: one line per difference of each change that is not a keep ("controller security group: …"). */
export function changeLines(changes: readonly Change[]): string[] {
  return changes.flatMap((c) => {
    const label = resourceLabel(c.resource);
    if (c.action === 'keep') return [];
    if (c.action === 'create') return [`${label}: missing, to create`];
    if (c.action === 'delete') return [`${label} ${c.id}: not part of the deployment, to delete`];
    return (c.differences ?? []).map((d) => `${label}: ${d}`);
  });
}

/** Pure: the plan as a table (action, resource, id, what changes). */
export function renderChanges(changes: readonly Change[]): string {
  const rows = changes.map((c) => [
    c.action,
    resourceLabel(c.resource),
    c.id ?? '',
    c.action === 'update'
      ? (c.differences ?? []).join('; ')
      : c.action === 'create'
        ? fieldsText(c.after)
        : '',
  ]);
  return renderTable(['action', 'resource', 'id', 'change'], rows);
}
