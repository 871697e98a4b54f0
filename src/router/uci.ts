/**
 * UCI (OpenWrt's Unified Configuration Interface) as data: a parser for `uci export` output and the
 * quoting of values for `uci batch`. Pure.
 */

export type UciValue = string | string[];

export interface UciSection {
  /** Undefined for an anonymous section (`config dnsmasq`); it is addressed as `@type[index]`. */
  name: string | undefined;
  type: string;
  /** Position among the sections of the same type, for `@type[index]`. */
  typeIndex: number;
  options: Record<string, UciValue>;
}

export interface UciPackage {
  name: string;
  sections: UciSection[];
}

/** Names of packages, sections and options that we generate or address: uci's own identifier rule. */
export const UCI_NAME = /^[A-Za-z0-9_]+$/;

/**
 * Splits export text into lines of words, honouring uci's quoting: '…' (no escapes), "…" (backslash
 * escapes) and a backslash outside quotes; adjacent pieces join into one word, and a quoted value may span
 * lines. `#` outside quotes starts a comment.
 */
export function tokenizeUci(text: string): string[][] {
  const lines: string[][] = [];
  let words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endLine = () => {
    endWord();
    if (words.length > 0) lines.push(words);
    words = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      endLine();
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) throw new SyntaxError(`unterminated ' quote at offset ${i}`);
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
      if (i >= text.length) throw new SyntaxError('unterminated " quote');
      word = (word ?? '') + value;
      i++;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[i + 1];
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  endLine();
  return lines;
}

/** Parses the output of `uci export <package>…` (one or more `package` blocks). */
export function parseUciExport(text: string): UciPackage[] {
  const packages: UciPackage[] = [];
  let pkg: UciPackage | undefined;
  let section: UciSection | undefined;
  for (const [keyword, ...args] of tokenizeUci(text)) {
    if (keyword === 'package') {
      pkg = { name: args[0] ?? '', sections: [] };
      packages.push(pkg);
      section = undefined;
    } else if (keyword === 'config') {
      if (!pkg) throw new SyntaxError('"config" before any "package" line');
      const type = args[0];
      if (!type) throw new SyntaxError('"config" without a section type');
      const typeIndex = pkg.sections.filter((s) => s.type === type).length;
      section = { name: args[1], type, typeIndex, options: {} };
      pkg.sections.push(section);
    } else if (keyword === 'option' || keyword === 'list') {
      if (!section) throw new SyntaxError(`"${keyword}" outside a section`);
      const [name, value] = args;
      if (name === undefined || value === undefined)
        throw new SyntaxError(`"${keyword}" needs a name and value`);
      if (keyword === 'option') section.options[name] = value;
      else {
        const current = section.options[name];
        section.options[name] = Array.isArray(current) ? [...current, value] : [value];
      }
    } else {
      throw new SyntaxError(`unknown uci keyword "${keyword}"`);
    }
  }
  return packages;
}

/**
 * The names libuci generates for anonymous sections (`cfg` + a counter + a hash of the content). The read
 * exports with `-n`, so anonymous sections come named like this: a batch addresses them by that name,
 * and `uci changes` (which always prints it) can be predicted exactly.
 */
export const GENERATED_NAME = /^cfg[0-9a-f]{6}$/;

/** The uci address of a section: its name, or `@type[index]` for an anonymous one. */
export function sectionRef(section: Pick<UciSection, 'name' | 'type' | 'typeIndex'>): string {
  return section.name ?? `@${section.type}[${section.typeIndex}]`;
}

/** How a person reads the address: `@type[index]` for an anonymous section, whatever its generated name. */
export function displayRef(section: Pick<UciSection, 'name' | 'type' | 'typeIndex'>): string {
  return section.name === undefined || GENERATED_NAME.test(section.name)
    ? `@${section.type}[${section.typeIndex}]`
    : section.name;
}

const isControl = (ch: string) => {
  const code = ch.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
};

/**
 * Quotes a value for `uci batch`: single quotes, with an embedded quote written as '\''. Inside single
 * quotes uci gives no character a meaning (`;`, `#`, `$`, backslash are literal). Control characters are
 * refused: a newline would end the batch line, and no value we write needs one.
 */
export function quoteUci(value: string): string {
  if ([...value].some(isControl)) {
    throw new RangeError(`a uci value may not contain control characters: ${JSON.stringify(value)}`);
  }
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Free text (a site name) made safe for a uci value: control characters become spaces, length bounded. */
export function plainText(value: string, max = 128): string {
  const spaced = [...value].map((ch) => (isControl(ch) ? ' ' : ch)).join('');
  return spaced.replace(/ {2,}/g, ' ').trim().slice(0, max);
}

/** Quotes a string for a POSIX shell word ('…' with '\'' for a quote). */
export function quoteShell(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
