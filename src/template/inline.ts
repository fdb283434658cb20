// Compile-time inlining (the `inlineUrls` setting, on by default): a Nunjucks preprocessor that turns
// each `{{ url_for(...) }}` / `{{ static_integrity(...) }}` whose arguments are all literals into a
// branch: the text the call would render when, at render time, the name still resolves to the function
// that computed that text; the original call otherwise. So a page with hundreds of asset URLs costs
// close to what the same page with the URLs written out costs, and Nunjucks' shadowing rules hold:
// a render-context variable named url_for, a `set`, loop variable or macro argument of a template that
// includes or extends this one, or a url_for global replaced after initApp all make the branch take
// the original call. The check looks the name up exactly as the call would (the same expression, in the
// same scope), and reads a token the plugin stamps on its functions (see {@link InlineGuard}).
// It works on Nunjucks' own tokens (the same lexer, the same tag delimiters), and leaves a call alone
// whenever the rewrite could change what the page renders:
// - an argument is not a literal (a variable, an expression, a negative number), or a filter follows;
// - the tag trims whitespace (`{{-`, `-}}`) or spans lines (error line numbers must stay right);
// - with trimBlocks, the tag ends a line; with lstripBlocks, it starts one after indentation (the
//   branch's block tags would eat that newline or that indentation);
// - the name is bound inside the template (`{% set url_for %}`, a macro argument, an import...): the
//   check would never hold;
// - the call fails (the render then fails as before, with the same error), or its text would read as
//   a tag;
// - it is inside `{% raw %}` / `{% verbatim %}`.
// The one visible difference: when a shadowing url_for throws, the column in the error message counts
// from the branch's opening tag (the line stays right).

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

/**
 * What the render-time check compares: the inlined text is used while `<name>.<property>` equals
 * `token`. The plugin sets that property on the functions it installs, with a token that changes
 * whenever what they return may change (each initApp), so a template compiled earlier falls back to
 * the call instead of printing text computed under other settings.
 */
export interface InlineGuard {
  /** A property name (a Nunjucks symbol: letters, digits, underscores). */
  property: string;
  /** Letters, digits, underscores and dots: it is written into the template as a string literal. */
  token: string;
}

/** How to inline: the fold that computes a call's text, and the guard that checks it still applies. */
export interface Inliner {
  fold: FoldCall;
  guard: InlineGuard;
}

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
 * The source with every inlinable call replaced by a guarded branch: its output (escaped when
 * `autoescape` is on, as the render would) while the guard holds, the call itself otherwise. Returns
 * `source` itself when nothing changes, or when the lexer rejects it (the compile that follows reports
 * the error in Nunjucks' words).
 */
export function inlineStaticCalls(source: string, options: InlineOptions, inliner: Inliner): string {
  if (!INLINED_NAMES.some((name) => source.includes(name))) return source;
  let found: Scan;
  try {
    found = scan(source, options);
  } catch {
    return source;
  }
  const tags = delimitersOf(options);
  const branches: { span: Span; text: string }[] = [];
  for (const span of found.spans) {
    if (found.bound.has(span.name) || !branchKeepsWhitespace(source, span, options)) continue;
    const text = foldedText(span, options, inliner.fold);
    if (text !== undefined && !readsAsTag(text, tags)) branches.push({ span, text });
  }
  if (branches.length === 0) return source;

  const runs = loopableRuns(source, found, options, branches);
  const block = (inside: string) => `${tags.blockStart} ${inside} ${tags.blockEnd}`;
  const check = (name: InlinedName) => `${name}.${inliner.guard.property} === "${inliner.guard.token}"`;
  const inserts: { at: number; end?: number; text: string }[] = [];
  for (const run of runs) {
    const vars = run.names.map((name) => `${LOOP_VARIABLE_PREFIX}${name}`);
    const values = run.names.map(check);
    const list = vars.length === 1 ? `[${values[0]}]` : `[[${values.join(', ')}]]`;
    inserts.push({ at: run.start, text: block(`for ${vars.join(', ')} in ${list}`) });
    inserts.push({ at: run.end, text: block('endfor') });
  }
  for (const { span, text } of branches) {
    const run = runs.find((r) => r.start <= span.start && span.end <= r.end);
    const holds = run ? `${LOOP_VARIABLE_PREFIX}${span.name}` : check(span.name);
    const call = source.slice(span.start, span.end);
    inserts.push({
      at: span.start,
      end: span.end,
      text: `${block(`if ${holds}`)}${text}${block('else')}${call}${block('endif')}`,
    });
  }
  // Stable: at one offset, what was pushed first goes first (a loop's end before the next loop's
  // start, a loop's start before the branch it begins with).
  inserts.sort((x, y) => x.at - y.at);
  let out = '';
  let last = 0;
  for (const insert of inserts) {
    out += source.slice(last, insert.at) + insert.text;
    last = insert.end ?? insert.at;
  }
  return out + source.slice(last);
}

/**
 * The loop variables that hold each run's check. Nunjucks compiles a loop variable into a JavaScript
 * local: reading it costs nothing, where a lookup by name costs about as much as the call it replaces
 * in a long template (V8 does not optimise a render function that large).
 */
const LOOP_VARIABLE_PREFIX = '_nunjucks_s3_inline_';

interface Run {
  start: number;
  end: number;
  names: InlinedName[];
}

/**
 * The stretches between block tags that hold branches and can be wrapped in a one-pass `for` whose
 * variable is the check, evaluated once for the stretch: no block tag inside (so nothing in it can
 * rebind a name), no filter or `loop` in its other tags, and no whitespace control or trimBlocks
 * newline at its edges that the loop's tags would change.
 */
function loopableRuns(
  source: string,
  found: Scan,
  options: InlineOptions,
  branches: { span: Span }[],
): Run[] {
  const edges = [
    { start: 0, end: 0, trims: false },
    ...found.blocks,
    { start: source.length, end: source.length, trims: false },
  ];
  const runs: Run[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const before = edges[i]!;
    const after = edges[i + 1]!;
    const inside = branches.filter(({ span }) => before.end <= span.start && span.end <= after.start);
    if (inside.length === 0 || before.trims || after.trims) continue;
    if (found.loopUnsafe.some((at) => before.end <= at && at < after.start)) continue;
    if (i === 0 && options.trimBlocks && /^\r?\n/.test(source)) continue;
    const names = INLINED_NAMES.filter((name) => inside.some(({ span }) => span.name === name));
    runs.push({ start: before.end, end: after.start, names });
  }
  return runs;
}

/** The fold's text for a span, escaped as the render would; undefined when it fails or declines. */
function foldedText(span: Span, options: InlineOptions, fold: FoldCall): string | undefined {
  let text: string | undefined;
  try {
    text = fold(span.name, span.args);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  return options.autoescape ? escapeHtml(text) : text;
}

/**
 * Whether the branch's block tags leave the whitespace around the call as it is: trimBlocks drops a
 * newline right after a block tag, lstripBlocks the indentation before one that starts a line.
 */
function branchKeepsWhitespace(source: string, span: Span, options: InlineOptions): boolean {
  if (options.trimBlocks && /^\r?\n/.test(source.slice(span.end, span.end + 2))) return false;
  if (options.lstripBlocks) {
    const lineStart = source.lastIndexOf('\n', span.start - 1) + 1;
    if (/^\s+$/.test(source.slice(lineStart, span.start))) return false;
  }
  return true;
}

/**
 * Whether the text, as template data between two block tags, would open or close a tag, alone or with
 * the tag characters around it (a text ending in '{' before '{%' would read as '{{').
 */
function readsAsTag(text: string, tags: Delimiters): boolean {
  const joined = tags.blockEnd.slice(-1) + text + tags.blockStart.charAt(0);
  return tags.all.some((delimiter) => joined.includes(delimiter));
}

interface Delimiters {
  blockStart: string;
  blockEnd: string;
  all: string[];
}

/** The tag delimiters in effect: the block ones the branch is written with, and all six. */
function delimitersOf(options: InlineOptions): Delimiters {
  const tags = options.tags ?? {};
  const blockStart = tags['blockStart'] ?? '{%';
  const blockEnd = tags['blockEnd'] ?? '%}';
  const all = [
    blockStart,
    blockEnd,
    tags['variableStart'] ?? '{{',
    tags['variableEnd'] ?? '}}',
    tags['commentStart'] ?? '{#',
    tags['commentEnd'] ?? '#}',
  ];
  return { blockStart, blockEnd, all };
}

/** A block tag's place, and whether it trims the whitespace before (`{%-`) or after (`-%}`) it. */
interface BlockTag {
  start: number;
  end: number;
  trims: boolean;
}

interface Scan {
  spans: Span[];
  /** The names the template binds in block tags. */
  bound: Set<string>;
  blocks: BlockTag[];
  /**
   * Where variable tags start that must not move into a loop: a filter (an async filter cannot run
   * inside `for`) or the name `loop` (it would see the wrapping loop's).
   */
  loopUnsafe: number[];
}

/** The inlinable calls of a template, the names it binds, its block tags and its loop-unsafe tags. */
function scan(source: string, options: InlineOptions): Scan {
  const tokens = lexer.lex(source, options);
  const tags = options.tags ?? {};
  const variableStart = tags['variableStart'] ?? '{{';
  const variableEnd = tags['variableEnd'] ?? '}}';
  const spans: Span[] = [];
  const bound = new Set<string>();
  const blocks: BlockTag[] = [];
  const loopUnsafe: number[] = [];
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
      const trims = first.value.endsWith('-') || closer.value.startsWith('-');
      blocks.push({ start: source.indexOf(first.value, start), end, trims });
      if (inner.length === 1 && tag?.type === 'symbol' && (tag.value === 'raw' || tag.value === 'verbatim'))
        skipRaw(tokens, tag.value);
      continue;
    }
    if (inner.some((t) => t.type === 'pipe' || (t.type === 'symbol' && t.value === 'loop')))
      loopUnsafe.push(start);
    if (first.value !== variableStart || closer.value !== variableEnd) continue;
    if (source.slice(start, end).includes('\n')) continue;
    const call = parseCall(inner);
    if (call) spans.push({ start, end, ...call });
  }
  return { spans, bound, blocks, loopUnsafe };
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
