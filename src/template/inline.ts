// Compile-time inlining (the `inlineUrls` setting, on by default): the Nunjucks extension that compiles
// each `{{ url_for(...) }}` / `{{ static_integrity(...) }}` whose arguments are all literals into the
// text the call renders, behind a render-time check that the name still resolves to the function that
// computed that text. So a page with hundreds of asset URLs costs close to what the same page with the
// URLs written out costs, and Nunjucks' shadowing rules hold: a render-context variable named url_for,
// a `set`, loop variable or macro argument of this template or of one that includes or extends it, or
// a url_for global replaced after initApp all make the check fail, and the page makes the calls.
//
// The preprocessor puts one tag of this extension before a template's text; the tag's parse parses
// the rest of the template with Nunjucks' own parser (so every tag, delimiter, whitespace rule and
// extension works as without it) and hands the tree to inline-tree.ts, which replaces the calls and
// adds the checks. The parse first tells the lexer to count lines and columns from zero again, so
// every position in the tree, and every error message, is the template's own.
//
// A call is left as it is when an argument is not a literal (a variable, an expression, a negative
// number), when a filter follows it, or when the fold declines or fails (the call then fails at
// render time, as before).

import nunjucks from 'nunjucks';
import { INLINED_NAMES, type InlinedName, inlineTree, type Nodes, type TemplateNode } from './inline-tree.js';

export { INLINED_NAMES, type InlinedName };

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
  property: string;
  token: string;
}

/** How to inline: the fold that computes a call's text, and the guard that checks it still applies. */
export interface Inliner {
  fold: FoldCall;
  guard: InlineGuard;
}

/** The Environment options the wrapper tag and the escaping depend on (read at each compile). */
export interface InlineOptions {
  autoescape?: boolean;
  tags?: Record<string, string | undefined>;
  trimBlocks?: boolean;
}

/** The Nunjucks extension that inlines: a preprocessor and the one tag it writes. */
export interface InlineExtension {
  tags: string[];
  preprocess(source: string): string;
  parse(parser: Parser, nodes: Nodes): TemplateNode;
}

/** The name the fallback extension is added under: compiled templates call it by that name. */
export const INLINE_FALLBACK_EXTENSION = 'nunjucks-s3-inline-fallback';

/**
 * The fallback extension: what an inlined stretch calls when its check fails. `body` renders the
 * stretch as written, its output escaped as the Environment escapes, so the result is marked safe.
 * It stays on the Environment while inlineUrls is off: a template compiled with inlining and kept by
 * the host still calls it after the settings change.
 */
export const inlineFallback = {
  fallback(_context: unknown, body: () => string): unknown {
    return runtime.markSafe(body());
  },
};

/** The tag the preprocessor writes before a template's text. */
const WRAPPER_TAG = 'nunjucks_s3_inline';

interface Token {
  value: string;
  lineno: number;
  colno: number;
}

/** The parts of Nunjucks' Parser (node_modules/nunjucks/src/parser.js) the wrapper tag uses. */
interface Parser {
  /** The lexer: where the next token starts. */
  tokens: { lineno: number; colno: number };
  nextToken(): Token;
  advanceAfterBlockEnd(name: string): Token;
  parseNodes(): TemplateNode[];
}

const runtime = (nunjucks as unknown as { runtime: { markSafe(s: string): unknown } }).runtime;
const escapeHtml = (nunjucks as unknown as { lib: { escape(s: string): string } }).lib.escape;

/**
 * The extension to add to an Environment whose options are `options` (its `opts`): templates that
 * mention an inlined name get the wrapper tag, whose parse inlines.
 */
export function inlineExtension(options: InlineOptions, inliner: Inliner): InlineExtension {
  return {
    tags: [WRAPPER_TAG],
    preprocess: (source) => wrapTemplate(source, options),
    parse: (parser, nodes) => parseWrapped(parser, nodes, options, inliner),
  };
}

/**
 * The source with the wrapper tag before it, when it mentions an inlined name. With trimBlocks the
 * lexer drops a newline after a block tag: the tag brings its own, so the template keeps its first one.
 */
export function wrapTemplate(source: string, options: InlineOptions): string {
  if (!INLINED_NAMES.some((name) => source.includes(name))) return source;
  const tags = options.tags ?? {};
  const tag = `${tags['blockStart'] ?? '{%'} ${WRAPPER_TAG} ${tags['blockEnd'] ?? '%}'}`;
  return options.trimBlocks ? `${tag}\n${source}` : tag + source;
}

/** The wrapper tag's parse: the rest of the template, parsed as Nunjucks parses it, then inlined. */
function parseWrapped(parser: Parser, nodes: Nodes, options: InlineOptions, inliner: Inliner): TemplateNode {
  const tag = parser.nextToken();
  const atStart = tag.lineno === 0 && tag.colno === (options.tags?.['blockStart'] ?? '{%').length + 1;
  parser.advanceAfterBlockEnd(tag.value);
  // The template's text starts here: from now on the lexer counts lines and columns as if the tag
  // were not there, so node positions, parse errors and lstripBlocks see the template as written.
  // (Unless a preprocessor that ran after this one put text before the tag: then it moved them.)
  if (atStart) {
    parser.tokens.lineno = 0;
    parser.tokens.colno = 0;
  }
  const body = inlineTree(parser.parseNodes(), {
    nodes,
    textOf: (name, args) => foldedText(name, args, options, inliner.fold),
    guard: inliner.guard,
    fallback: { extension: INLINE_FALLBACK_EXTENSION, method: 'fallback' },
  });
  return new nodes.NodeList(0, 0, body);
}

/** The fold's text for a call, escaped as the render would; undefined when it fails or declines. */
function foldedText(
  name: InlinedName,
  args: unknown[],
  options: InlineOptions,
  fold: FoldCall,
): string | undefined {
  let text: string | undefined;
  try {
    text = fold(name, args);
  } catch {
    return undefined;
  }
  if (typeof text !== 'string') return undefined;
  return options.autoescape ? escapeHtml(text) : text;
}
