import { SECRET_OPTIONS, type SectionSpec } from './desired-state';
import {
  displayRef,
  quoteUci,
  sectionRef,
  UCI_NAME,
  type UciPackage,
  type UciSection,
  type UciValue,
} from './uci';

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
  /**
   * What `uci changes <package>` must print after the batch, package by package in `packages` order: the
   * real `uci batch` exits 0 whatever failed, so the apply script compares this before it commits. Holds
   * secrets. `expectedLine[i]` is the batch line whose change is `expected[…][i]`, to name failed lines.
   */
  expected: Record<string, string[]>;
  expectedLine: Record<string, number[]>;
  /** The packages the batch touches, in the order the apply script checks and commits them. */
  packages: string[];
}

export const REDACTED = '<redacted>';

const sameValue = (a: UciValue | undefined, b: UciValue | undefined): boolean =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((v, i) => v === b[i]) : a === b;

const asList = (v: UciValue | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function checkName(name: string): string {
  if (!UCI_NAME.test(name)) throw new RangeError(`not a uci identifier: ${JSON.stringify(name)}`);
  return name;
}

type Command = 'set' | 'add_list' | 'del_list' | 'delete' | 'rename';

/** The line `uci changes` prints for one batch command (cli.c's uci_show_changes). */
function changeLine(command: Command, target: string, value: string | undefined): string {
  if (command === 'delete') return `-${target}`;
  const op = command === 'add_list' ? '+=' : command === 'del_list' ? '-=' : '=';
  return `${target}${op}${quoteUci(value ?? '')}`;
}

class PlanBuilder {
  readonly changes: UciChange[] = [];
  readonly batch: string[] = [];
  readonly displayBatch: string[] = [];
  readonly expected: Record<string, string[]> = {};
  readonly expectedLine: Record<string, number[]> = {};

  line(command: Command, target: string, value: string | undefined, secret: boolean): void {
    const tail = value === undefined ? '' : `=${quoteUci(value)}`;
    const pkg = target.split('.')[0]!;
    this.expected[pkg] = [...(this.expected[pkg] ?? []), changeLine(command, target, value)];
    this.expectedLine[pkg] = [...(this.expectedLine[pkg] ?? []), this.batch.length];
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
    this.line('set', `${config}.${checkName(name)}`, type, false);
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
}

/** A section addressed for the batch (`target`) and for people (`shown`). */
interface Located {
  section: UciSection;
  target: string;
  shown: string;
}

function locate(config: string, section: UciSection): Located {
  return { section, target: `${config}.${sectionRef(section)}`, shown: `${config}.${displayRef(section)}` };
}

function findSection(pkg: UciPackage | undefined, ref: { name: string } | { type: string; index: number }) {
  if (!pkg) return undefined;
  if ('name' in ref) return pkg.sections.find((s) => s.name === ref.name);
  return pkg.sections.find((s) => s.type === ref.type && s.typeIndex === ref.index);
}

type Owned = Extract<SectionSpec, { kind: 'owned' }>;

/** Sections of the spec's type whose identifying options equal the wanted ones (a zone named `waveshift`). */
function sameIdentity(pkg: UciPackage | undefined, spec: Owned): UciSection[] {
  const identity = spec.identity ?? [];
  if (!pkg || identity.length === 0) return [];
  return pkg.sections.filter(
    (s) => s.type === spec.type && identity.every((o) => sameValue(s.options[o], spec.options[o])),
  );
}

function planOwned(b: PlanBuilder, spec: Owned, pkg: UciPackage | undefined) {
  const target = `${spec.config}.${checkName(spec.name)}`;
  const byName = findSection(pkg, { name: spec.name });
  const twins = sameIdentity(pkg, spec).filter((s) => s !== byName);
  let current: UciSection | undefined = byName;
  if (current && current.type !== spec.type) {
    b.deleteTarget(target);
    b.change({ action: 'delete', resource: target, before: current.type }, false);
    current = undefined;
  }
  if (!current && twins.length > 0) {
    // Adopt the section that already plays this part under another name, rather than add a second one.
    const adopted = locate(spec.config, twins.shift()!);
    b.line('rename', adopted.target, spec.name, false);
    b.change({ action: 'update', resource: adopted.shown, before: adopted.shown, after: target }, false);
    current = adopted.section;
  }
  for (const twin of twins) {
    const extra = locate(spec.config, twin);
    b.deleteTarget(extra.target);
    b.change({ action: 'delete', resource: extra.shown, before: twin.type }, false);
  }
  if (!current) {
    b.setSection(spec.config, spec.name, spec.type);
    b.change({ action: 'create', resource: target, after: spec.type }, false);
  }
  planOptions(b, target, target, spec.options, current);
  // wavectl owns this section whole: anything else in it goes.
  for (const option of Object.keys(current?.options ?? {})) {
    if (!(option in spec.options)) deleteOption(b, target, target, option, current);
  }
}

function deleteOption(
  b: PlanBuilder,
  target: string,
  shown: string,
  option: string,
  current: UciSection | undefined,
) {
  b.deleteTarget(`${target}.${checkName(option)}`);
  b.change(
    { action: 'delete', resource: `${shown}.${option}`, before: current?.options[option] },
    SECRET_OPTIONS.has(option),
  );
}

/** Writes each wanted option that differs (an option where a list is wanted differs); null = absent. */
function planOptions(
  b: PlanBuilder,
  target: string,
  shown: string,
  options: Record<string, UciValue | null>,
  current: UciSection | undefined,
) {
  for (const [option, value] of Object.entries(options)) {
    const before = current?.options[option];
    if (value === null) {
      if (before !== undefined) deleteOption(b, target, shown, option, current);
      continue;
    }
    if (sameValue(before, value)) continue;
    b.writeOption(target, option, value, before !== undefined);
    b.change(
      {
        action: before === undefined ? 'create' : 'update',
        resource: `${shown}.${option}`,
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
  let at: { target: string; shown: string };
  if (current) at = locate(spec.config, current);
  else if ('name' in spec.ref) {
    const target = `${spec.config}.${checkName(spec.ref.name)}`;
    at = { target, shown: target };
    b.setSection(spec.config, spec.ref.name, spec.ref.type);
    b.change({ action: 'create', resource: target, after: spec.ref.type }, false);
  } else {
    throw new RangeError(`the router has no ${spec.config} section of type ${spec.ref.type}`);
  }
  planOptions(b, at.target, at.shown, spec.options, current);
}

function planMembers(
  b: PlanBuilder,
  spec: Extract<SectionSpec, { kind: 'members' }>,
  current: UciSection | undefined,
) {
  if (!current) throw new RangeError(`the router has no ${spec.config} section of type ${spec.ref.type}`);
  const at = locate(spec.config, current);
  const path = `${at.target}.${checkName(spec.option)}`;
  const shown = `${at.shown}.${spec.option}`;
  const value = current.options[spec.option];
  const owned = (v: string) =>
    'prefix' in spec.owns ? v.startsWith(spec.owns.prefix) : v === spec.owns.exact;
  if (typeof value === 'string') {
    // Stored as a plain option: del_list does nothing to it, so rewrite it as a list in one go.
    const after = [...new Set([...(owned(value) ? [] : [value]), ...spec.want])];
    b.deleteTarget(path);
    for (const entry of after) b.line('add_list', path, entry, false);
    b.change({ action: 'update', resource: shown, before: value, after }, false);
    return;
  }
  const have = asList(value);
  for (const entry of have) {
    if (!owned(entry) || spec.want.includes(entry)) continue;
    b.line('del_list', path, entry, false);
    b.change({ action: 'delete', resource: shown, before: entry }, false);
  }
  for (const entry of spec.want) {
    if (have.includes(entry)) continue;
    b.line('add_list', path, entry, false);
    b.change({ action: 'create', resource: shown, after: entry }, false);
  }
}

/**
 * Pure: the difference between the router's exported packages and the desired sections, as changes and
 * ONE uci batch with the `uci changes` it must produce. Nothing to do gives an empty batch.
 */
export function planUci(current: readonly UciPackage[], desired: readonly SectionSpec[]): UciPlan {
  const b = new PlanBuilder();
  const pkg = (name: string) => current.find((p) => p.name === name);
  for (const spec of desired) {
    if (spec.kind === 'owned') planOwned(b, spec, pkg(spec.config));
    else if (spec.kind === 'merge') planMerge(b, spec, findSection(pkg(spec.config), spec.ref));
    else planMembers(b, spec, findSection(pkg(spec.config), spec.ref));
  }
  // The order `uci changes` lists packages in (alphabetical), so one call can be compared whole.
  const packages = Object.keys(b.expected).sort();
  return {
    changes: b.changes,
    batch: b.batch,
    displayBatch: b.displayBatch,
    expected: b.expected,
    expectedLine: b.expectedLine,
    packages,
  };
}
