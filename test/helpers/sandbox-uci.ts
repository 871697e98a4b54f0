/**
 * The `uci` command of the sandboxed router (test/helpers/router-sandbox.ts), written independently of
 * src/router so that the tests check wavectl against OpenWrt's semantics, not against itself. Bundled by
 * esbuild into the sandbox and run by node. It follows OpenWrt's libuci/cli behaviour for what wavectl and
 * the tests use: config files in /etc/config (or -c DIR), changes staged in /tmp/.uci (or -P DIR) as delta
 * lines until `commit`, `revert` drops them, named and anonymous sections (`@type[i]`, `@type[-1]`, cfgXXXXXX
 * ids), options and lists, and `batch` reading commands from stdin with uci's quoting.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Value = string | string[];
interface Section {
  id: string;
  anonymous: boolean;
  type: string;
  options: Map<string, Value>;
}
interface Pkg {
  name: string;
  sections: Section[];
}

class UciFailure extends Error {}

const NAME = /^[A-Za-z0-9_]+$/;
let confDir = '/etc/config';
let saveDir = '/tmp/.uci';
let quiet = false;

/** Splits one line into words with uci's quoting rules ('…', "…" with \ escapes, \x outside quotes). */
function words(line: string): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      if (cur !== undefined) out.push(cur);
      cur = undefined;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UciFailure('Parse error (unterminated quote)');
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        v += line[i];
        i++;
      }
      if (i >= line.length) throw new UciFailure('Parse error (unterminated quote)');
      cur = (cur ?? '') + v;
      i++;
    } else if (c === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[i + 1];
      i += 2;
    } else if (c === '#' && cur === undefined) {
      break;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== undefined) out.push(cur);
  return out;
}

/** Joins lines whose quote is still open (a quoted value may span lines in a config file). */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    pending = pending === '' ? raw : `${pending}\n${raw}`;
    let single = false;
    let double = false;
    for (let i = 0; i < pending.length; i++) {
      const c = pending[i];
      if (c === '\\' && !single) i++;
      else if (c === "'" && !double) single = !single;
      else if (c === '"' && !single) double = !double;
    }
    if (!single && !double) {
      lines.push(pending);
      pending = '';
    }
  }
  if (pending !== '') throw new UciFailure('Parse error (unterminated quote)');
  return lines;
}

function anonId(pkg: Pkg, type: string): string {
  // libuci names anonymous sections cfgXXYYYY: a per-package counter and a hash of the type.
  let hash = 0;
  for (const ch of type) hash = (hash * 31 + ch.charCodeAt(0)) & 0xffff;
  let n = pkg.sections.length;
  let id: string;
  do {
    id = `cfg${(n & 0xff).toString(16).padStart(2, '0')}${hash.toString(16).padStart(4, '0')}`;
    n++;
  } while (pkg.sections.some((s) => s.id === id));
  return id;
}

function parseFile(name: string, text: string): Pkg {
  const pkg: Pkg = { name, sections: [] };
  let section: Section | undefined;
  for (const line of logicalLines(text)) {
    const [kw, a, b, extra] = words(line);
    if (kw === undefined) continue;
    if (kw === 'package') continue;
    if (extra !== undefined) throw new UciFailure(`Parse error (too many arguments) in ${name}`);
    if (kw === 'config') {
      if (!a || !NAME.test(a)) throw new UciFailure(`Parse error (invalid section type) in ${name}`);
      if (b !== undefined && !NAME.test(b))
        throw new UciFailure(`Parse error (invalid section name) in ${name}`);
      const existing = b === undefined ? undefined : pkg.sections.find((s) => s.id === b);
      if (existing) {
        // A repeated named section merges into the first, as libuci does.
        section = existing;
        continue;
      }
      section = { id: b ?? anonId(pkg, a), anonymous: b === undefined, type: a, options: new Map() };
      pkg.sections.push(section);
    } else if (kw === 'option' || kw === 'list') {
      if (!section || a === undefined || b === undefined || !NAME.test(a)) {
        throw new UciFailure(`Parse error (invalid ${kw}) in ${name}`);
      }
      if (kw === 'option') section.options.set(a, b);
      else {
        const cur = section.options.get(a);
        section.options.set(a, Array.isArray(cur) ? [...cur, b] : [b]);
      }
    } else throw new UciFailure(`Parse error (invalid command) in ${name}`);
  }
  return pkg;
}

const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

function serialize(pkg: Pkg, withPackage: boolean): string {
  let out = withPackage ? `package ${pkg.name}\n\n` : '';
  for (const s of pkg.sections) {
    out += s.anonymous ? `config ${s.type}\n` : `config ${s.type} ${q(s.id)}\n`;
    for (const [k, v] of s.options) {
      if (Array.isArray(v)) for (const e of v) out += `\tlist ${k} ${q(e)}\n`;
      else out += `\toption ${k} ${q(v)}\n`;
    }
    out += '\n';
  }
  return out;
}

function packageNames(): string[] {
  return existsSync(confDir)
    ? readdirSync(confDir)
        .filter((f) => NAME.test(f))
        .sort()
    : [];
}

function deltaFile(pkg: string): string {
  return join(saveDir, pkg);
}

function readDelta(pkg: string): string[] {
  const file = deltaFile(pkg);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function loadCommitted(name: string): Pkg {
  if (!NAME.test(name)) throw new UciFailure('Invalid argument');
  const file = join(confDir, name);
  if (!existsSync(file)) throw new UciFailure('Entry not found');
  return parseFile(name, readFileSync(file, 'utf8'));
}

/** The package as uci shows it: committed file plus staged changes. */
function load(name: string): Pkg {
  const pkg = loadCommitted(name);
  for (const line of readDelta(name)) applyDelta(pkg, line);
  return pkg;
}

interface Ptr {
  pkg: string;
  section?: string;
  option?: string;
  value?: string;
}

function parsePtr(text: string, withValue: boolean): Ptr {
  let path = text;
  let value: string | undefined;
  if (withValue) {
    const eq = text.indexOf('=');
    if (eq >= 0) {
      path = text.slice(0, eq);
      value = text.slice(eq + 1);
    }
  }
  const parts = path.split('.');
  if (parts.length > 3 || parts.some((p) => p === '')) throw new UciFailure('Invalid argument');
  const [pkg, section, option] = parts as [string, string?, string?];
  return { pkg, section, option, value };
}

function findSection(pkg: Pkg, ref: string): Section | undefined {
  const m = /^@([A-Za-z0-9_]+)\[(-?\d+)\]$/.exec(ref);
  if (m) {
    const ofType = pkg.sections.filter((s) => s.type === m[1]);
    const i = Number(m[2]);
    return ofType[i < 0 ? ofType.length + i : i];
  }
  return pkg.sections.find((s) => s.id === ref);
}

function requireSection(pkg: Pkg, ref: string | undefined): Section {
  const s = ref === undefined ? undefined : findSection(pkg, ref);
  if (!s) throw new UciFailure('Entry not found');
  return s;
}

/** Applies one delta line (libuci's savedir format) to a loaded package. */
function applyDelta(pkg: Pkg, line: string): void {
  const op = '+-|~@^'.includes(line[0]!) ? line[0] : '';
  const [raw] = words(op ? line.slice(1) : line);
  if (raw === undefined) return;
  const ptr = parsePtr(raw, true);
  const sectionId = ptr.section!;
  const section = pkg.sections.find((s) => s.id === sectionId);
  switch (op) {
    case '+':
    case '': {
      if (ptr.option === undefined) {
        if (section) section.type = ptr.value!;
        else
          pkg.sections.push({ id: sectionId, anonymous: op === '+', type: ptr.value!, options: new Map() });
      } else if (section) section.options.set(ptr.option, ptr.value!);
      break;
    }
    case '-':
      if (!section) break;
      if (ptr.option === undefined) pkg.sections.splice(pkg.sections.indexOf(section), 1);
      else section.options.delete(ptr.option);
      break;
    case '|': {
      if (!section || ptr.option === undefined) break;
      const cur = section.options.get(ptr.option);
      section.options.set(
        ptr.option,
        cur === undefined ? [ptr.value!] : [...(Array.isArray(cur) ? cur : [cur]), ptr.value!],
      );
      break;
    }
    case '~': {
      if (!section || ptr.option === undefined) break;
      const cur = section.options.get(ptr.option);
      if (Array.isArray(cur))
        section.options.set(
          ptr.option,
          cur.filter((v) => v !== ptr.value),
        );
      break;
    }
    case '@': {
      if (!section) break;
      if (ptr.option === undefined) {
        section.id = ptr.value!;
        section.anonymous = false;
      } else {
        const v = section.options.get(ptr.option);
        if (v !== undefined) {
          section.options.delete(ptr.option);
          section.options.set(ptr.value!, v);
        }
      }
      break;
    }
    case '^': {
      if (!section) break;
      pkg.sections.splice(pkg.sections.indexOf(section), 1);
      pkg.sections.splice(Math.min(Number(ptr.value), pkg.sections.length), 0, section);
      break;
    }
  }
}

function stage(pkg: string, line: string): void {
  mkdirSync(saveDir, { recursive: true });
  const file = deltaFile(pkg);
  writeFileSync(file, `${existsSync(file) ? readFileSync(file, 'utf8') : ''}${line}\n`);
}

function deltaPath(pkg: string, section: Section, option?: string): string {
  return `${pkg}.${section.id}${option === undefined ? '' : `.${option}`}`;
}

function checkName(name: string | undefined): string {
  if (name === undefined || !NAME.test(name)) throw new UciFailure('Invalid argument');
  return name;
}

function printValue(v: Value): string {
  return Array.isArray(v) ? v.join(' ') : v;
}

function showRef(pkg: Pkg, s: Section): string {
  if (!s.anonymous) return s.id;
  const ofType = pkg.sections.filter((x) => x.type === s.type);
  return `@${s.type}[${ofType.indexOf(s)}]`;
}

function show(pkg: Pkg, only?: Section, option?: string): string[] {
  const lines: string[] = [];
  for (const s of only ? [only] : pkg.sections) {
    const ref = `${pkg.name}.${showRef(pkg, s)}`;
    if (option === undefined) lines.push(`${ref}=${s.type}`);
    for (const [k, v] of s.options) {
      if (option !== undefined && k !== option) continue;
      lines.push(`${ref}.${k}=${Array.isArray(v) ? v.map(q).join(' ') : q(v)}`);
    }
  }
  return lines;
}

function run(command: string, args: string[], out: string[]): void {
  switch (command) {
    case 'export': {
      for (const name of args.length > 0 ? args : packageNames()) out.push(serialize(load(name), true));
      return;
    }
    case 'show': {
      if (args.length === 0) {
        for (const name of packageNames()) out.push(...show(load(name)));
        return;
      }
      const ptr = parsePtr(args[0]!, false);
      const pkg = load(ptr.pkg);
      if (ptr.section === undefined) out.push(...show(pkg));
      else {
        const s = requireSection(pkg, ptr.section);
        if (ptr.option !== undefined && !s.options.has(ptr.option)) throw new UciFailure('Entry not found');
        out.push(...show(pkg, s, ptr.option));
      }
      return;
    }
    case 'get': {
      const ptr = parsePtr(args[0] ?? '', false);
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      if (ptr.option === undefined) out.push(s.type);
      else {
        const v = s.options.get(ptr.option);
        if (v === undefined) throw new UciFailure('Entry not found');
        out.push(printValue(v));
      }
      return;
    }
    case 'set': {
      const ptr = parsePtr(args[0] ?? '', true);
      if (ptr.value === undefined) throw new UciFailure('Invalid argument');
      const pkg = load(ptr.pkg);
      if (ptr.option === undefined) {
        const existing = ptr.section === undefined ? undefined : findSection(pkg, ptr.section);
        checkName(ptr.value);
        if (existing) stage(pkg.name, `${deltaPath(pkg.name, existing)}=${q(ptr.value)}`);
        else stage(pkg.name, `${pkg.name}.${checkName(ptr.section)}=${q(ptr.value)}`);
      } else {
        const s = requireSection(pkg, ptr.section);
        checkName(ptr.option);
        stage(pkg.name, `${deltaPath(pkg.name, s, ptr.option)}=${q(ptr.value)}`);
      }
      return;
    }
    case 'add': {
      const [name, type] = args;
      const pkg = load(checkName(name));
      const id = anonId(pkg, checkName(type));
      stage(pkg.name, `+${pkg.name}.${id}=${q(type!)}`);
      out.push(id);
      return;
    }
    case 'add_list':
    case 'del_list': {
      const ptr = parsePtr(args[0] ?? '', true);
      if (ptr.value === undefined || ptr.option === undefined) throw new UciFailure('Invalid argument');
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      checkName(ptr.option);
      stage(
        pkg.name,
        `${command === 'add_list' ? '|' : '~'}${deltaPath(pkg.name, s, ptr.option)}=${q(ptr.value)}`,
      );
      return;
    }
    case 'delete': {
      const ptr = parsePtr(args[0] ?? '', true);
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      if (ptr.option !== undefined && !s.options.has(ptr.option)) throw new UciFailure('Entry not found');
      if (ptr.value !== undefined) {
        // `delete p.s.o=value` removes one list entry, like del_list.
        stage(pkg.name, `~${deltaPath(pkg.name, s, ptr.option)}=${q(ptr.value)}`);
      } else stage(pkg.name, `-${deltaPath(pkg.name, s, ptr.option)}`);
      return;
    }
    case 'rename': {
      const ptr = parsePtr(args[0] ?? '', true);
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      stage(pkg.name, `@${deltaPath(pkg.name, s, ptr.option)}=${q(checkName(ptr.value))}`);
      return;
    }
    case 'reorder': {
      const ptr = parsePtr(args[0] ?? '', true);
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      if (!/^\d+$/.test(ptr.value ?? '')) throw new UciFailure('Invalid argument');
      stage(pkg.name, `^${deltaPath(pkg.name, s)}=${q(ptr.value!)}`);
      return;
    }
    case 'changes': {
      for (const name of args.length > 0 ? args : packageNames()) {
        for (const line of readDelta(name)) out.push(line);
      }
      return;
    }
    case 'revert': {
      const ptr = parsePtr(args[0] ?? '', false);
      if (ptr.section !== undefined) {
        const prefix = `${ptr.pkg}.${ptr.section}${ptr.option === undefined ? '' : `.${ptr.option}`}`;
        const keep = readDelta(ptr.pkg).filter((l) => {
          const body = '+-|~@^'.includes(l[0]!) ? l.slice(1) : l;
          return !(body.startsWith(`${prefix}.`) || body.startsWith(`${prefix}=`) || body === prefix);
        });
        mkdirSync(saveDir, { recursive: true });
        writeFileSync(deltaFile(ptr.pkg), keep.map((l) => `${l}\n`).join(''));
      } else rmSync(deltaFile(ptr.pkg), { force: true });
      return;
    }
    case 'commit': {
      for (const name of args.length > 0 ? args : packageNames()) {
        if (readDelta(name).length === 0) continue;
        const pkg = load(name);
        const file = join(confDir, name);
        writeFileSync(`${file}.uci-new`, serialize(pkg, false));
        renameSync(`${file}.uci-new`, file);
        rmSync(deltaFile(name), { force: true });
      }
      return;
    }
    default:
      throw new UciFailure(`unknown command "${command}"`);
  }
}

function batch(input: string, out: string[]): void {
  for (const line of input.split('\n')) {
    const argv = words(line);
    if (argv.length === 0) continue;
    const [command, ...args] = argv;
    try {
      run(command!, args, out);
    } catch (error) {
      if (!(error instanceof UciFailure)) throw error;
      // libuci's batch reports and carries on with the next line, as the real one does.
      process.stderr.write(`uci: ${error.message}\n`);
      process.exitCode = 1;
    }
  }
}

function main(argv: string[]): number {
  const args = [...argv];
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '-q') quiet = true;
    else if (flag === '-c') confDir = args.shift() ?? confDir;
    else if (flag === '-P' || flag === '-p') saveDir = args.shift() ?? saveDir;
    else if (flag === '-X' || flag === '-n' || flag === '-N') continue;
    else {
      process.stderr.write(`uci: unsupported option ${flag}\n`);
      return 1;
    }
  }
  const [command, ...rest] = args;
  if (!command) {
    process.stderr.write('Usage: uci [<options>] <command> [<arguments>]\n');
    return 1;
  }
  const out: string[] = [];
  try {
    if (command === 'batch') batch(readFileSync(0, 'utf8'), out);
    else run(command, rest, out);
  } catch (error) {
    if (!(error instanceof UciFailure)) throw error;
    if (!quiet) process.stderr.write(`uci: ${error.message}\n`);
    return 1;
  }
  if (out.length > 0) process.stdout.write(out.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join(''));
  return process.exitCode === 1 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
