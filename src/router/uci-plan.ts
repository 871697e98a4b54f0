import { SECRET_OPTIONS, type SectionSpec } from './desired-state';
import { quoteUci, sectionRef, UCI_NAME, type UciPackage, type UciSection, type UciValue } from './uci';

/** One difference between the router and the desired state; serialisable, secrets redacted. */
export interface UciChange {
  action: 'create' | 'update' | 'delete';
  /** `network.lan.ipaddr`, or a section `network.waveshift`. */
  resource: string;
  before?: UciValue;
  after?: UciValue;
}

export interface UciPlan {
  changes: UciChange[];
  /** Lines of ONE `uci batch` (no commit: the apply step commits). Holds secrets: never print it. */
  batch: string[];
  /** The batch with secret values replaced, for --dry-run and logs. */
  displayBatch: string[];
}

export const REDACTED = '<redacted>';

const sameValue = (a: UciValue | undefined, b: UciValue | undefined): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;

const asList = (v: UciValue | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function checkName(name: string): string {
  if (!UCI_NAME.test(name)) throw new RangeError(`not a uci identifier: ${JSON.stringify(name)}`);
  return name;
}

class PlanBuilder {
  readonly changes: UciChange[] = [];
  readonly batch: string[] = [];
  readonly displayBatch: string[] = [];

  private line(command: string, target: string, value: string | undefined, secret: boolean): void {
    const tail = value === undefined ? '' : `=${quoteUci(value)}`;
    this.batch.push(`${command} ${target}${tail}`);
    this.displayBatch.push(
      `${command} ${target}${value === undefined ? '' : `=${secret ? quoteUci(REDACTED) : quoteUci(value)}`}`,
    );
  }

  change(change: UciChange, secret: boolean): void {
    this.changes.push(
      secret
        ? {
            ...change,
            ...(change.before === undefined ? {} : { before: REDACTED }),
            ...(change.after === undefined ? {} : { after: REDACTED }),
          }
        : change,
    );
  }

  setSection(config: string, name: string, type: string): void {
    this.line('set', `${config}.${checkName(name)}`, checkName(type), false);
  }

  deleteTarget(target: string): void {
    this.line('delete', target, undefined, false);
  }

  /** Writes an option (string) or replaces a list (delete, then add_list each entry). */
  writeOption(target: string, option: string, value: UciValue, hadValue: boolean): void {
    const secret = SECRET_OPTIONS.has(option);
    const path = `${target}.${checkName(option)}`;
    if (Array.isArray(value)) {
      if (hadValue) this.deleteTarget(path);
      for (const entry of value) this.line('add_list', path, entry, secret);
    } else this.line('set', path, value, secret);
  }

  addList(path: string, value: string): void {
    this.line('add_list', path, value, false);
  }

  delList(path: string, value: string): void {
    this.line('del_list', path, value, false);
  }
}

function findSection(pkg: UciPackage | undefined, ref: { name: string } | { type: string; index: number }) {
  if (!pkg) return undefined;
  if ('name' in ref) return pkg.sections.find((s) => s.name === ref.name);
  return pkg.sections.find((s) => s.type === ref.type && s.typeIndex === ref.index);
}

function planOwned(
  b: PlanBuilder,
  spec: Extract<SectionSpec, { kind: 'owned' }>,
  current: UciSection | undefined,
) {
  const target = `${spec.config}.${checkName(spec.name)}`;
  if (current && current.type !== spec.type) {
    b.deleteTarget(target);
    b.change({ action: 'delete', resource: target, before: current.type }, false);
    current = undefined;
  }
  if (!current) {
    b.setSection(spec.config, spec.name, spec.type);
    b.change({ action: 'create', resource: target, after: spec.type }, false);
  }
  planOptions(b, target, spec.options, current);
  // wavectl owns this section whole: anything else in it goes.
  for (const option of Object.keys(current?.options ?? {})) {
    if (!(option in spec.options)) deleteOption(b, target, option, current);
  }
}

function deleteOption(b: PlanBuilder, target: string, option: string, current: UciSection | undefined) {
  b.deleteTarget(`${target}.${checkName(option)}`);
  b.change(
    { action: 'delete', resource: `${target}.${option}`, before: current?.options[option] },
    SECRET_OPTIONS.has(option),
  );
}

/** Writes each wanted option that differs; a null value means "must be absent". */
function planOptions(
  b: PlanBuilder,
  target: string,
  options: Record<string, UciValue | null>,
  current: UciSection | undefined,
) {
  for (const [option, value] of Object.entries(options)) {
    const before = current?.options[option];
    if (value === null) {
      if (before !== undefined) deleteOption(b, target, option, current);
      continue;
    }
    if (sameValue(before, value)) continue;
    b.writeOption(target, option, value, before !== undefined);
    b.change(
      {
        action: before === undefined ? 'create' : 'update',
        resource: `${target}.${option}`,
        before,
        after: value,
      },
      SECRET_OPTIONS.has(option),
    );
  }
}

function planMerge(
  b: PlanBuilder,
  spec: Extract<SectionSpec, { kind: 'merge' }>,
  current: UciSection | undefined,
) {
  let target: string;
  if (current) target = `${spec.config}.${sectionRef(current)}`;
  else if ('name' in spec.ref) {
    target = `${spec.config}.${checkName(spec.ref.name)}`;
    b.setSection(spec.config, spec.ref.name, spec.ref.type);
    b.change({ action: 'create', resource: target, after: spec.ref.type }, false);
  } else {
    throw new RangeError(`the router has no ${spec.config} section of type ${spec.ref.type}`);
  }
  planOptions(b, target, spec.options, current);
}

function planMembers(
  b: PlanBuilder,
  spec: Extract<SectionSpec, { kind: 'members' }>,
  current: UciSection | undefined,
) {
  if (!current) throw new RangeError(`the router has no ${spec.config} section of type ${spec.ref.type}`);
  const path = `${spec.config}.${sectionRef(current)}.${checkName(spec.option)}`;
  const have = asList(current.options[spec.option]);
  const owned = (v: string) =>
    'prefix' in spec.owns ? v.startsWith(spec.owns.prefix) : v === spec.owns.exact;
  for (const entry of have) {
    if (!owned(entry) || spec.want.includes(entry)) continue;
    b.delList(path, entry);
    b.change({ action: 'delete', resource: path, before: entry }, false);
  }
  for (const entry of spec.want) {
    if (have.includes(entry)) continue;
    b.addList(path, entry);
    b.change({ action: 'create', resource: path, after: entry }, false);
  }
}

/**
 * Pure: the difference between the router's exported packages and the desired sections, as changes and
 * ONE uci batch. Nothing to do gives an empty batch.
 */
export function planUci(current: readonly UciPackage[], desired: readonly SectionSpec[]): UciPlan {
  const b = new PlanBuilder();
  const pkg = (name: string) => current.find((p) => p.name === name);
  for (const spec of desired) {
    if (spec.kind === 'owned') planOwned(b, spec, findSection(pkg(spec.config), { name: spec.name }));
    else if (spec.kind === 'merge') planMerge(b, spec, findSection(pkg(spec.config), spec.ref));
    else planMembers(b, spec, findSection(pkg(spec.config), spec.ref));
  }
  return { changes: b.changes, batch: b.batch, displayBatch: b.displayBatch };
}
