// Compile-time inlining (the `inlineUrls` setting): a Nunjucks preprocessor that replaces each
// `{{ url_for(...) }}` / `{{ static_integrity(...) }}` whose arguments are all literals with the text it
// would render, so a render of a page with hundreds of asset URLs costs what the same page with the
// URLs written out costs. It works on Nunjucks' own tokens (the same lexer, the same tag delimiters),
// and leaves a call alone whenever inlining could change what the page renders:
// - an argument is not a literal (a variable, an expression, a negative number), or a filter follows;
// - the tag trims whitespace (`{{-`, `-}}`) or spans lines (error line numbers must stay right);
// - the name is bound inside the template (`{% set url_for %}`, a macro argument, an import...);
// - the call fails (the render then fails as before, with the same error), or its text would read as
//   a tag;
// - it is inside `{% raw %}` / `{% verbatim %}`.
// What it cannot see: a render-context variable named url_for, a url_for defined by a template that
// includes or extends this one (a top-level set; with include also a loop variable or macro argument in
// scope there), or a url_for global replaced after initApp. Each shadows our global at render time, and
// inlined calls ignore them: that is why inlining is a setting, off by default.

import nunjucks from 'nunjucks';

/** The names inlined. */
export const INLINED_NAMES = ['url_for', 'static_integrity'] as const;
export type InlinedName = (typeof INLINED_NAMES)[number];

/**
 * Computes a call's output at compile time: the string it returns, or undefined to leave the call for
 * render time. `args` are what Nunjucks would pass: positional values, then one keyword object
 * marked `__keywords` when there are keywords.
 */
export type FoldCall = (name: InlinedName, args: unknown[]) => string | undefined;

/** The Environment options the lexer and the escaping depend on. */
export interface InlineOptions {
  autoescape?: boolean;
  tags?: Record<string, string | undefined>;
  trimBlocks?: boolean;
  lstripBlocks?: boolean;
}

interface Token {
  type: string;
  value: string;
}

interface Tokenizer {
  index: number;
  nextToken(): Token | null;
  _extractRegex(regex: RegExp): RegExpMatchArray | null;
  backN(n: number): void;
}

const lexer = (nunjucks as unknown as { lexer: { lex(src: string, opts: object): Tokenizer } }).lexer;
const escapeHtml = (nunjucks as unknown as { lib: { escape(s: string): string } }).lib.escape;

const LITERALS = new Set(['string', 'int', 'float', 'boolean', 'none']);

function literalValue(token: Token): unknown {
  switch (token.type) {
    case 'int':
      return Number.parseInt(token.value, 10);
    case 'float':
      return Number.parseFloat(token.value);
    case 'boolean':
      return token.value === 'true';
    case 'none':
      return null;
    default:
      return token.value;
  }
}

interface Span {
  start: number;
  end: number;
  name: InlinedName;
  args: unknown[];
}

/**
 * The source with every inlinable call replaced by its output (escaped when `autoescape` is on, as
 * the render would). Returns `source` itself when nothing changes, or when the lexer rejects it (the
 * compile that follows reports the error in Nunjucks' words).
 */
export function inlineStaticCalls(source: string, options: InlineOptions, fold: FoldCall): string {
  if (!INLINED_NAMES.some((name) => source.includes(name))) return source;
  let spans: Span[];
  let bound: Set<string>;
  try {
    ({ spans, bound } = scan(source, options));
  } catch {
    return source;
  }
  if (spans.length === 0) return source;
  const tags = options.tags ?? {};
  const delimiters = [
    tags['blockStart'] ?? '{%',
    tags['blockEnd'] ?? '%}',
    tags['variableStart'] ?? '{{',
    tags['variableEnd'] ?? '}}',
    tags['commentStart'] ?? '{#',
    tags['commentEnd'] ?? '#}',
  ];
  let out = '';
  let last = 0;
  for (const span of spans) {
    if (bound.has(span.name)) continue;
    let text: string | undefined;
    try {
      text = fold(span.name, span.args);
    } catch {
      text = undefined;
    }
    if (typeof text !== 'string') continue;
    if (options.autoescape) text = escapeHtml(text);
    // The text becomes template data: it must not open or close a tag, alone or with the characters
    // around it (a URL ending in '#' before a '}' would read as the end of a comment).
    const before = out + source.slice(last, span.start);
    const joined = before.slice(-1) + text + source.charAt(span.end);
    if (delimiters.some((d) => joined.includes(d))) continue;
    out = before + text;
    last = span.end;
  }
  return last === 0 ? source : out + source.slice(last);
}

/** The inlinable calls of a template, and the names it binds in block tags. */
function scan(source: string, options: InlineOptions): { spans: Span[]; bound: Set<string> } {
  const tokens = lexer.lex(source, options);
  const tags = options.tags ?? {};
  const variableStart = tags['variableStart'] ?? '{{';
  const variableEnd = tags['variableEnd'] ?? '}}';
  const spans: Span[] = [];
  const bound = new Set<string>();
  const names = new Set<string>(INLINED_NAMES);

  // One tag's tokens at a time (whitespace dropped), with the offsets where the tag starts and ends.
  for (;;) {
    const start = tokens.index;
    const first = tokens.nextToken();
    if (first === null) break;
    if (first.type !== 'block-start' && first.type !== 'variable-start') continue;
    const inner: Token[] = [];
    let closer: Token | null = null;
    for (;;) {
      const t = tokens.nextToken();
      if (t === null) break;
      if (t.type === 'block-end' || t.type === 'variable-end') {
        closer = t;
        break;
      }
      if (t.type !== 'whitespace') inner.push(t);
    }
    if (closer === null) break;
    const end = tokens.index;

    if (first.type === 'block-start') {
      for (const t of inner) if (t.type === 'symbol' && names.has(t.value)) bound.add(t.value);
      const tag = inner[0];
      if (inner.length === 1 && tag?.type === 'symbol' && (tag.value === 'raw' || tag.value === 'verbatim'))
        skipRaw(tokens, tag.value);
      continue;
    }
    if (first.value !== variableStart || closer.value !== variableEnd) continue;
    if (source.slice(start, end).includes('\n')) continue;
    const call = parseCall(inner);
    if (call) spans.push({ start, end, ...call });
  }
  return { spans, bound };
}

/** `name(literal, ..., key=literal, ...)` from a variable tag's tokens, or undefined. */
function parseCall(inner: Token[]): { name: InlinedName; args: unknown[] } | undefined {
  const [callee, open] = inner;
  if (callee?.type !== 'symbol' || open?.type !== 'left-paren') return undefined;
  if (!(INLINED_NAMES as readonly string[]).includes(callee.value)) return undefined;
  if (inner[inner.length - 1]?.type !== 'right-paren') return undefined;
  const positional: unknown[] = [];
  let keywords: Record<string, unknown> | undefined;
  let i = 2;
  const last = inner.length - 1;
  while (i < last) {
    const t = inner[i]!;
    const next = inner[i + 1];
    if (t.type === 'symbol' && next?.type === 'operator' && next.value === '=') {
      const value = inner[i + 2];
      if (value === undefined || !LITERALS.has(value.type)) return undefined;
      keywords ??= {};
      keywords[t.value] = literalValue(value);
      i += 3;
    } else if (LITERALS.has(t.type) && keywords === undefined) {
      positional.push(literalValue(t));
      i += 1;
    } else return undefined;
    if (i < last) {
      if (inner[i]?.type !== 'comma' || i + 1 === last) return undefined;
      i += 1;
    }
  }
  const args = keywords ? [...positional, { ...keywords, __keywords: true }] : positional;
  return { name: callee.value as InlinedName, args };
}

/** Move past a raw/verbatim block's body, as Nunjucks' parser does (nested blocks counted). */
function skipRaw(tokens: Tokenizer, tagName: string): void {
  const endTag = `end${tagName}`;
  const block = new RegExp(`([\\s\\S]*?){%\\s*(${tagName}|${endTag})\\s*(?=%})%}`);
  let level = 1;
  for (let m = tokens._extractRegex(block); m !== null; m = tokens._extractRegex(block)) {
    if (m[2] === tagName) level += 1;
    else level -= 1;
    if (level === 0) {
      tokens.backN(m[0].length - (m[1] ?? '').length);
      return;
    }
  }
}
