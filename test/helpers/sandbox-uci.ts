/**
 * The `uci` command of the sandboxed router (test/helpers/router-sandbox.ts), written independently of
 * src/router (its own tokenizer and parser) so that the tests check wavectl against OpenWrt's semantics,
 * not against itself. Bundled by esbuild into the sandbox and run by node. It follows OpenWrt's uci cli.c
 * and libuci where wavectl and the tests depend on them:
 * - `batch` reports a failing line on stderr and carries on; its exit status is 0 whatever failed; a quote
 *   left open swallows the following lines into the value;
 * - config files in /etc/config (-c DIR), changes staged in /tmp/.uci (-P DIR, which also disables commit)
 *   as libuci delta lines that name anonymous sections by their generated id (cfgXXYYYY);
 * - `show` of a package names anonymous sections `@type[i]`, `show` of one section or option by its id;
 *   values quoted; `get` of a list quotes the entries that hold whitespace;
 * - `changes` prints `p.s.o='v'`, `p.s.o+='v'`, `p.s.o-='v'`, `-p.s[.o]`;
 * - `commit` and `export` write libuci's layout: a blank line before each `config`; `export -n` names
 *   anonymous sections by their id;
 * - section types may hold any printable character but space, package names `-` too, names [A-Za-z0-9_].
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
  /** libuci's per-package counter of generated section ids. */
  generated: number;
}

class UciFailure extends Error {}

const NAME = /^[A-Za-z0-9_]+$/;
const PACKAGE = /^[A-Za-z0-9_-]+$/;
/** libuci's uci_validate_type: printable characters other than space. */
const TYPE = /^[\x21-\x7e]+$/;
const NOT_FOUND = 'Entry not found';
const INVALID = 'Invalid argument';

let confDir = '/etc/config';
let saveDir = '/tmp/.uci';
/** Delta directories read before saveDir (-p, and the default one that -P replaces). */
const deltaPaths: string[] = [];
let quiet = false;
let noCommit = false;
let listDelimiter = ' ';
/** -n: export names anonymous sections by their generated id. */
let exportNames = false;

/**
 * Reads one command's words from `text` at `at`, as libuci's uci_parse_argument does: a newline outside
 * quotes ends the command, a quote may span lines (so an unterminated one takes the rest of the input).
 */
function readCommand(
  text: string,
  at: number,
): { words: string[]; next: number; error?: string; line: number } {
  const words: string[] = [];
  let word: string | undefined;
  let i = at;
  const line = text.slice(0, at).split('\n').length;
  const fail = (error: string) => {
    const end = text.indexOf('\n', i);
    return { words, next: end < 0 ? text.length : end + 1, error, line };
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      break;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) {
        i = text.length;
        return fail("unterminated '");
      }
      word = (word ?? '') + text.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      if (i >= text.length) return fail('unterminated "');
      word = (word ?? '') + value;
      i++;
    } else if (c === '\\' && i + 1 < text.length) {
      if (text[i + 1] !== '\n') word = (word ?? '') + text[i + 1];
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return { words, next: i, line };
}

/** libuci's djb hash, over the section's type and options: the YYYY of a generated id. */
function djb(hash: number, text: string): number {
  let h = hash;
  for (const ch of text) h = (h * 33 + ch.charCodeAt(0)) >>> 0;
  return h;
}

function generateId(pkg: Pkg, section: Section): string {
  let hash = djb(5381, section.type);
  for (const [k, v] of section.options) {
    hash = djb(hash, k);
    if (!Array.isArray(v)) hash = djb(hash, v);
  }
  let id: string;
  do {
    pkg.generated++;
    id = `cfg${(pkg.generated & 0xff).toString(16).padStart(2, '0')}${(hash & 0xffff).toString(16).padStart(4, '0')}`;
  } while (pkg.sections.some((s) => s.id === id));
  return id;
}

function parseFile(name: string, text: string): Pkg {
  const pkg: Pkg = { name, sections: [], generated: 0 };
  let section: Section | undefined;
  const close = () => {
    if (section?.anonymous && section.id === '') section.id = generateId(pkg, section);
  };
  let at = 0;
  while (at < text.length) {
    const cmd = readCommand(text, at);
    at = cmd.next;
    const where = ` at line ${cmd.line}`;
    if (cmd.error) throw new UciFailure(`Parse error (${cmd.error})${where}`);
    const [kw, a, b, extra] = cmd.words;
    if (kw === undefined || kw === 'package') continue;
    if (extra !== undefined) throw new UciFailure(`Parse error (too many arguments)${where}`);
    if (kw === 'config') {
      close();
      if (!a || !TYPE.test(a)) throw new UciFailure(`Parse error (invalid section type)${where}`);
      if (b !== undefined && !NAME.test(b))
        throw new UciFailure(`Parse error (invalid section name)${where}`);
      const existing = b === undefined ? undefined : pkg.sections.find((s) => s.id === b);
      if (existing) {
        // A repeated named section merges into the first, as libuci does.
        section = existing;
        continue;
      }
      section = { id: b ?? '', anonymous: b === undefined, type: a, options: new Map() };
      pkg.sections.push(section);
    } else if (kw === 'option' || kw === 'list') {
      if (!section)
        throw new UciFailure(`Parse error (option/list command found before the first section)${where}`);
      if (a === undefined || !NAME.test(a)) throw new UciFailure(`Parse error (invalid option name)${where}`);
      if (b === undefined) throw new UciFailure(`Parse error (invalid ${kw} value)${where}`);
      if (kw === 'option') section.options.set(a, b);
      else {
        const cur = section.options.get(a);
        section.options.set(a, Array.isArray(cur) ? [...cur, b] : [b]);
      }
    } else throw new UciFailure(`Parse error (invalid command)${where}`);
  }
  close();
  return pkg;
}

const q = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** libuci's uci_export layout: an optional package header, then a blank line before each section. */
function serialize(pkg: Pkg, header: boolean): string {
  let out = header ? `package ${pkg.name}\n` : '';
  for (const s of pkg.sections) {
    const named = !s.anonymous || (header && exportNames);
    out += named ? `\nconfig ${s.type} ${q(s.id)}\n` : `\nconfig ${s.type}\n`;
    for (const [k, v] of s.options) {
      if (Array.isArray(v)) for (const e of v) out += `\tlist ${k} ${q(e)}\n`;
      else out += `\toption ${k} ${q(v)}\n`;
    }
  }
  return `${out}\n`;
}

function packageNames(): string[] {
  return existsSync(confDir)
    ? readdirSync(confDir)
        .filter((f) => PACKAGE.test(f))
        .sort()
    : [];
}

function deltaFile(pkg: string): string {
  return join(saveDir, pkg);
}

/**
 * The staged delta lines of a package, each as its one word (operator, path, `=`, value unquoted). Read
 * with the same argument rules as a batch: a value may hold a newline inside its quotes.
 */
function readDelta(pkg: string): string[] {
  return [...deltaPaths, saveDir].flatMap((dir) => readDeltaFile(join(dir, pkg)));
}

function readDeltaFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // libuci skips a delta file it cannot open.
    return [];
  }
  const entries: string[] = [];
  let at = 0;
  while (at < text.length) {
    const cmd = readCommand(text, at);
    at = cmd.next;
    if (cmd.words[0] !== undefined) entries.push(cmd.words[0]);
  }
  return entries;
}

/** Writes a delta entry back in libuci's savedir syntax (the value quoted). */
function deltaText(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : `${entry.slice(0, eq)}=${q(entry.slice(eq + 1))}`;
}

function loadCommitted(name: string): Pkg {
  if (!PACKAGE.test(name)) throw new UciFailure(INVALID);
  const file = join(confDir, name);
  if (!existsSync(file)) throw new UciFailure(NOT_FOUND);
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
  if (parts.length > 3 || parts.some((p) => p === '')) throw new UciFailure(INVALID);
  const [pkg, section, option] = parts as [string, string?, string?];
  if (section !== undefined && !section.startsWith('@') && !NAME.test(section)) throw new UciFailure(INVALID);
  if (option !== undefined && !NAME.test(option)) throw new UciFailure(INVALID);
  return { pkg, section, option, value };
}

function findSection(pkg: Pkg, ref: string): Section | undefined {
  if (ref.startsWith('@')) {
    const m = /^@([\x21-\x7e]*)\[(-?\d+)\]$/.exec(ref);
    if (!m) throw new UciFailure(INVALID);
    const ofType = pkg.sections.filter((s) => m[1] === '' || s.type === m[1]);
    const i = Number(m[2]);
    return ofType[i < 0 ? ofType.length + i : i];
  }
  return pkg.sections.find((s) => s.id === ref);
}

function requireSection(pkg: Pkg, ref: string | undefined): Section {
  const s = ref === undefined ? undefined : findSection(pkg, ref);
  if (!s) throw new UciFailure(NOT_FOUND);
  return s;
}

/** Reads one savedir delta line: an operator character, then `pkg.section[.option][=value]`. */
function parseDelta(line: string): { op: string; ptr: Ptr } {
  const op = '+-|~@^'.includes(line[0]!) ? line[0]! : '';
  return { op, ptr: parsePtr(op ? line.slice(1) : line, true) };
}

/** Applies one delta line (libuci's savedir format) to a loaded package. */
function applyDelta(pkg: Pkg, line: string): void {
  const { op, ptr } = parseDelta(line);
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
  try {
    mkdirSync(saveDir, { recursive: true });
    const file = deltaFile(pkg);
    writeFileSync(file, `${existsSync(file) ? readFileSync(file, 'utf8') : ''}${line}\n`);
  } catch {
    // libuci's uci_save: a delta file it cannot write (a full /tmp, a directory in the way) is UCI_ERR_IO.
    throw new UciFailure('I/O error');
  }
}

/** Deltas name a section by its id, never `@type[i]`: libuci resolves the reference before saving. */
function deltaPath(pkg: string, section: Section, option?: string): string {
  return `${pkg}.${section.id}${option === undefined ? '' : `.${option}`}`;
}

/** `uci get` (quote false) and `uci show` (quote true) of a value, as cli.c's uci_show_value. */
function printValue(v: Value, quote: boolean): string {
  if (!Array.isArray(v)) return quote ? q(v) : v;
  return v.map((e) => (quote || /[ \t\r\n]/.test(e) ? q(e) : e)).join(listDelimiter);
}

function show(pkg: Pkg, only?: Section, option?: string): string[] {
  const lines: string[] = [];
  const seen = new Map<string, number>();
  for (const s of only ? [only] : pkg.sections) {
    let ref = s.id;
    if (!only && s.anonymous) {
      // A package's show names anonymous sections @type[i]; one section's or option's show uses its id.
      const i = seen.get(s.type) ?? 0;
      seen.set(s.type, i + 1);
      ref = `@${s.type}[${i}]`;
    }
    const at = `${pkg.name}.${ref}`;
    if (option === undefined) lines.push(`${at}=${s.type}`);
    for (const [k, v] of s.options) {
      if (option !== undefined && k !== option) continue;
      lines.push(`${at}.${k}=${printValue(v, true)}`);
    }
  }
  return lines;
}

/** cli.c's uci_show_changes: one line per saved delta. */
function changeLine(pkg: string, line: string): string {
  const { op, ptr } = parseDelta(line);
  const path = `${pkg}.${ptr.section}${ptr.option === undefined ? '' : `.${ptr.option}`}`;
  if (op === '-') return `-${path}`;
  const assign = op === '|' ? '+=' : op === '~' ? '-=' : '=';
  return `${path}${assign}${q(ptr.value ?? '')}`;
}

/**
 * cli.c's package commands without an argument: each package in turn; one that fails is reported and
 * skipped, and the command still exits 0.
 */
function eachPackage(out: string[], work: (name: string) => void): void {
  for (const name of packageNames()) {
    try {
      work(name);
    } catch (error) {
      flush(out);
      report(error);
    }
  }
}

function run(command: string, args: string[], out: string[]): void {
  switch (command) {
    case 'export': {
      if (args.length > 1) throw new UsageFailure();
      if (args.length === 1) out.push(serialize(load(args[0]!), true));
      else eachPackage(out, (name) => out.push(serialize(load(name), true)));
      return;
    }
    case 'show': {
      if (args.length === 0) {
        eachPackage(out, (name) => out.push(...show(load(name))));
        return;
      }
      const ptr = parsePtr(args[0]!, false);
      const pkg = load(ptr.pkg);
      if (ptr.section === undefined) out.push(...show(pkg));
      else {
        const s = requireSection(pkg, ptr.section);
        if (ptr.option !== undefined && !s.options.has(ptr.option)) throw new UciFailure(NOT_FOUND);
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
        if (v === undefined) throw new UciFailure(NOT_FOUND);
        out.push(printValue(v, false));
      }
      return;
    }
    case 'set': {
      const ptr = parsePtr(args[0] ?? '', true);
      if (ptr.value === undefined || ptr.section === undefined) throw new UciFailure(INVALID);
      const pkg = load(ptr.pkg);
      const existing = findSection(pkg, ptr.section);
      if (ptr.option === undefined) {
        if (!TYPE.test(ptr.value)) throw new UciFailure(INVALID);
        if (existing) stage(pkg.name, `${deltaPath(pkg.name, existing)}=${q(ptr.value)}`);
        else if (ptr.section.startsWith('@')) throw new UciFailure(NOT_FOUND);
        else stage(pkg.name, `${pkg.name}.${ptr.section}=${q(ptr.value)}`);
      } else {
        if (!existing) throw new UciFailure(INVALID);
        // Setting an option to the value it has is no change: libuci saves no delta.
        if (existing.options.get(ptr.option) === ptr.value) return;
        stage(pkg.name, `${deltaPath(pkg.name, existing, ptr.option)}=${q(ptr.value)}`);
      }
      return;
    }
    case 'add': {
      const [name, type] = args;
      if (name === undefined || type === undefined || args.length !== 2) throw new UciFailure(INVALID);
      if (!TYPE.test(type)) throw new UciFailure(INVALID);
      const pkg = load(name);
      const id = generateId(pkg, { id: '', anonymous: true, type, options: new Map() });
      stage(pkg.name, `+${pkg.name}.${id}=${q(type)}`);
      out.push(id);
      return;
    }
    case 'add_list':
    case 'del_list': {
      const ptr = parsePtr(args[0] ?? '', true);
      if (ptr.value === undefined || ptr.option === undefined) throw new UciFailure(INVALID);
      const pkg = load(ptr.pkg);
      const s = findSection(pkg, ptr.section!);
      if (!s) throw new UciFailure(INVALID);
      // del_list on a missing option or a plain option (not a list) changes nothing and saves no delta.
      if (command === 'del_list' && !Array.isArray(s.options.get(ptr.option))) return;
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
      if (ptr.option !== undefined && !s.options.has(ptr.option)) throw new UciFailure(NOT_FOUND);
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
      if (ptr.value === undefined || !NAME.test(ptr.value)) throw new UciFailure(INVALID);
      stage(pkg.name, `@${deltaPath(pkg.name, s, ptr.option)}=${q(ptr.value)}`);
      return;
    }
    case 'reorder': {
      const ptr = parsePtr(args[0] ?? '', true);
      const pkg = load(ptr.pkg);
      const s = requireSection(pkg, ptr.section);
      if (!/^\d+$/.test(ptr.value ?? '')) throw new UciFailure(INVALID);
      stage(pkg.name, `^${deltaPath(pkg.name, s)}=${q(ptr.value!)}`);
      return;
    }
    case 'changes': {
      const changes = (name: string) => {
        load(name);
        for (const line of readDelta(name)) out.push(changeLine(name, line));
      };
      if (args.length > 1) throw new UsageFailure();
      if (args.length === 1) changes(args[0]!);
      else eachPackage(out, changes);
      return;
    }
    case 'revert': {
      const ptr = parsePtr(args[0] ?? '', false);
      if (ptr.section !== undefined) {
        const pkg = load(ptr.pkg);
        const s = requireSection(pkg, ptr.section);
        const prefix = deltaPath(pkg.name, s, ptr.option);
        const keep = readDeltaFile(deltaFile(ptr.pkg)).filter((l) => {
          const body = '+-|~@^'.includes(l[0]!) ? l.slice(1) : l;
          return !(body.startsWith(`${prefix}.`) || body.startsWith(`${prefix}=`) || body === prefix);
        });
        mkdirSync(saveDir, { recursive: true });
        writeFileSync(deltaFile(ptr.pkg), keep.map((l) => `${deltaText(l)}\n`).join(''));
      } else {
        try {
          rmSync(deltaFile(ptr.pkg), { force: true });
        } catch {
          throw new UciFailure('I/O error');
        }
      }
      return;
    }
    case 'commit': {
      // cli.c: -P (a savedir of its own) means changes are never committed.
      if (noCommit) return;
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
      throw new UnknownCommand(command);
  }
}

class UnknownCommand extends Error {}
/** Too many arguments: cli.c prints its usage and exits 255. */
class UsageFailure extends UnknownCommand {}

function report(error: unknown): void {
  if (error instanceof UsageFailure) process.stderr.write('Usage: uci [<options>] <command> [<arguments>]\n');
  else if (error instanceof UnknownCommand) process.stderr.write('Unknown command\n');
  else if (error instanceof UciFailure) {
    if (!quiet) process.stderr.write(`uci: ${error.message}\n`);
  } else throw error;
}

/** cli.c's uci_batch: every failure is reported on stderr and the batch goes on; it always returns 0. */
function batch(input: string, out: string[]): void {
  let at = 0;
  while (at < input.length) {
    const cmd = readCommand(input, at);
    at = cmd.next;
    if (cmd.error) {
      if (!quiet) process.stderr.write(`uci: Parse error (${cmd.error}) at line ${cmd.line}\n`);
      continue;
    }
    const [command, ...args] = cmd.words;
    if (command === undefined) continue;
    if (command === 'exit') return;
    try {
      run(command, args, out);
    } catch (error) {
      report(error);
    }
    flush(out);
  }
}

function flush(out: string[]): void {
  if (out.length > 0) process.stdout.write(out.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join(''));
  out.length = 0;
}

function main(argv: string[]): number {
  const args = [...argv];
  while (args[0]?.startsWith('-')) {
    const flag = args.shift()!;
    if (flag === '-q') quiet = true;
    else if (flag === '-c') confDir = args.shift() ?? confDir;
    else if (flag === '-d') listDelimiter = args.shift() ?? listDelimiter;
    else if (flag === '-p') deltaPaths.push(args.shift() ?? saveDir);
    else if (flag === '-P') {
      // cli.c: the old savedir stays a delta path; the new one takes the changes, which are never committed.
      deltaPaths.push(saveDir);
      saveDir = args.shift() ?? saveDir;
      noCommit = true;
    } else if (flag === '-n') exportNames = true;
    else if (flag === '-N') exportNames = false;
    else if (flag === '-X' || flag === '-L' || flag === '-s') continue;
    else {
      process.stderr.write(`uci: unsupported option ${flag}\n`);
      return 1;
    }
  }
  const [command, ...rest] = args;
  if (!command) {
    process.stderr.write('Usage: uci [<options>] <command> [<arguments>]\n');
    return 0;
  }
  const out: string[] = [];
  if (command === 'batch') {
    batch(readFileSync(0, 'utf8'), out);
    return 0;
  }
  try {
    run(command, rest, out);
  } catch (error) {
    report(error);
    return error instanceof UnknownCommand ? 255 : 1;
  }
  flush(out);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
