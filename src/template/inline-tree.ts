// The tree half of compile-time inlining (inline.ts is the Nunjucks extension around it). Pure: a parsed
// template's nodes in, the same nodes with their literal calls inlined out, built with the node classes
// Nunjucks hands a tag's parse (node_modules/nunjucks/src/nodes.js; how each compiles:
// node_modules/nunjucks/src/compiler.js).
//
// In each run of plain output (text and `{{ }}` tags, nothing between them that is a statement), the
// stretch from the first inlined call to the last becomes
//     If(<check>, [the stretch, each inlined call replaced by its text, adjacent texts joined],
//                 [CallExtension(<fallback>, content: [the stretch as written]))
// - The check, `url_for.<property> === "<token>"` (and the same for static_integrity when the stretch
//   calls it), is compiled from the same symbol as the calls, in the same scope, so it finds what they
//   would find. It runs once, before the stretch: nothing in a stretch can rebind a name.
// - The fallback's content is the stretch's own nodes, so a call that fails there fails with its own
//   line and column. Nunjucks compiles a CallExtension's content into a nested function: the template's
//   render function keeps only the text and one small call per stretch, and stays small enough for V8
//   to optimise; the nested function is compiled only if a check ever fails.
// Output whose expressions may be asynchronous (a filter) or hold statements (a `{% call %}` or
// `{% filter %}` body, another extension's content) is no plain output: it ends a run.

/** The names inlined. */
export const INLINED_NAMES = ['url_for', 'static_integrity'] as const;
export type InlinedName = (typeof INLINED_NAMES)[number];

/** A node of Nunjucks' template tree: its type name, its place (0-based) and its fields. */
export interface TemplateNode {
  typename: string;
  lineno: number;
  colno: number;
  fields: string[];
  [field: string]: unknown;
}

type NodeClass = new (lineno: number, colno: number, ...fields: unknown[]) => TemplateNode;

/** The node classes inlining builds with. */
export type Nodes = Record<
  | 'NodeList'
  | 'Output'
  | 'TemplateData'
  | 'If'
  | 'And'
  | 'Compare'
  | 'CompareOperand'
  | 'LookupVal'
  | 'Symbol'
  | 'Literal',
  NodeClass
> & {
  CallExtension: new (ext: string, prop: string, args: TemplateNode, content: TemplateNode[]) => TemplateNode;
};

/** What the tree is inlined with. */
export interface TreeInlining {
  nodes: Nodes;
  /** A literal call's text as the template would print it (escaped), or undefined to leave the call. */
  textOf(name: InlinedName, args: unknown[]): string | undefined;
  /** The check: `<name>.<property> === <token>`. */
  guard: { property: string; token: string };
  /** The extension (by name) and its method a failed check calls with the stretch as content. */
  fallback: { extension: string; method: string };
}

/** A list of statements and output (a template's top level), inlined, and so are the lists under it. */
export function inlineTree(children: TemplateNode[], how: TreeInlining): TemplateNode[] {
  const out: TemplateNode[] = [];
  for (let i = 0; i < children.length; ) {
    const child = children[i]!;
    if (!isPlainOutput(child)) {
      descend(child, how);
      out.push(child);
      i += 1;
      continue;
    }
    let end = i;
    while (end < children.length && isPlainOutput(children[end]!)) end += 1;
    out.push(...inlineRun(children.slice(i, end), how));
    i = end;
  }
  return out;
}

/** Every statement list under a statement (the bodies of if, for, block, macro, call, filter...). */
function descend(node: TemplateNode, how: TreeInlining): void {
  if (node.typename === 'NodeList') node['children'] = inlineTree(node['children'] as TemplateNode[], how);
  else for (const child of childNodes(node)) descend(child, how);
  // A `{% set %}...{% endset %}` block keeps its body outside its fields.
  if (node.typename === 'Set' && isNode(node['body'])) descend(node['body'], how);
}

/** A run of plain output: the stretch from its first inlined call to its last, guarded. */
function inlineRun(outputs: TemplateNode[], how: TreeInlining): TemplateNode[] {
  const calls = outputs.map(literalCall);
  const texts = calls.map((call) => call && how.textOf(call.name, call.args));
  const first = texts.findIndex((text) => text !== undefined);
  if (first === -1) return outputs;
  const last = texts.findLastIndex((text) => text !== undefined);
  const stretch = outputs.slice(first, last + 1);
  const names = INLINED_NAMES.filter((name) =>
    calls.some((call, i) => call?.name === name && texts[i] !== undefined),
  );
  return [
    ...outputs.slice(0, first),
    guarded(stretch, texts.slice(first, last + 1), names, how),
    ...outputs.slice(last + 1),
  ];
}

/** `If(check, stretch with its texts, fallback(stretch))`. */
function guarded(
  stretch: TemplateNode[],
  texts: (string | undefined)[],
  names: InlinedName[],
  how: TreeInlining,
): TemplateNode {
  const { nodes } = how;
  const { lineno, colno } = stretch[0]!;
  const fast: TemplateNode[] = [];
  let data: string | undefined;
  const flush = () => {
    if (data !== undefined)
      fast.push(new nodes.Output(lineno, colno, [new nodes.TemplateData(lineno, colno, data)]));
    data = undefined;
  };
  stretch.forEach((output, i) => {
    const text = texts[i] ?? textOnly(output);
    if (text === undefined) {
      flush();
      fast.push(output);
    } else data = (data ?? '') + text;
  });
  flush();
  const { extension, method } = how.fallback;
  const content = new nodes.NodeList(lineno, colno, stretch);
  const fallback = new nodes.CallExtension(extension, method, new nodes.NodeList(lineno, colno), [content]);
  return new nodes.If(
    lineno,
    colno,
    check(names, how, stretch[0]!),
    new nodes.NodeList(lineno, colno, fast),
    new nodes.NodeList(lineno, colno, [fallback]),
  );
}

/** `url_for.<property> === "<token>" and ...`, for each name. */
function check(names: InlinedName[], how: TreeInlining, at: TemplateNode): TemplateNode {
  const { nodes, guard } = how;
  const { lineno, colno } = at;
  const literal = (value: string) => new nodes.Literal(lineno, colno, value);
  const checks = names.map((name) => {
    const value = new nodes.LookupVal(
      lineno,
      colno,
      new nodes.Symbol(lineno, colno, name),
      literal(guard.property),
    );
    return new nodes.Compare(lineno, colno, value, [
      new nodes.CompareOperand(lineno, colno, literal(guard.token), '==='),
    ]);
  });
  return checks.reduce((left, right) => new nodes.And(lineno, colno, left, right));
}

/** Node types a plain output's expressions may hold: evaluated in order, synchronously, no statements. */
const PLAIN_EXPRESSIONS = new Set([
  'TemplateData',
  'Literal',
  'Symbol',
  'LookupVal',
  'FunCall',
  'NodeList',
  'Array',
  'Dict',
  'Pair',
  'KeywordArgs',
  'Group',
  'InlineIf',
  'Or',
  'And',
  'Not',
  'In',
  'Is',
  'Add',
  'Concat',
  'Sub',
  'Mul',
  'Div',
  'FloorDiv',
  'Mod',
  'Pow',
  'Neg',
  'Pos',
  'Compare',
  'CompareOperand',
]);

function isNode(value: unknown): value is TemplateNode {
  return typeof value === 'object' && value !== null && 'typename' in value && 'fields' in value;
}

/** The nodes in a node's fields (a CallExtension's content is an array of them). */
function childNodes(node: TemplateNode): TemplateNode[] {
  return node.fields.flatMap((field) => {
    const value = node[field];
    if (Array.isArray(value)) return value.filter(isNode);
    return isNode(value) ? [value] : [];
  });
}

function isPlainExpression(node: TemplateNode): boolean {
  return PLAIN_EXPRESSIONS.has(node.typename) && childNodes(node).every(isPlainExpression);
}

/** Text, or a `{{ }}` tag of plain expressions. */
function isPlainOutput(node: TemplateNode): boolean {
  return node.typename === 'Output' && (node['children'] as TemplateNode[]).every(isPlainExpression);
}

/** The text of an output that is only text, else undefined. */
function textOnly(output: TemplateNode): string | undefined {
  const children = output['children'] as TemplateNode[];
  if (!children.every((child) => child.typename === 'TemplateData')) return undefined;
  return children.map((child) => child['value'] as string).join('');
}

type LiteralValue = string | number | boolean | null;

function isLiteral(node: unknown): node is TemplateNode & { value: LiteralValue } {
  if (!isNode(node) || node.typename !== 'Literal') return false;
  const value = node['value'];
  return (
    value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
  );
}

/**
 * `{{ name(literal, ..., key=literal, ...) }}` for an inlined name: the name and the arguments Nunjucks
 * passes (positional values, then one keyword object marked `__keywords`); else undefined.
 */
function literalCall(output: TemplateNode): { name: InlinedName; args: unknown[] } | undefined {
  const children = output['children'] as TemplateNode[];
  const call = children[0];
  if (children.length !== 1 || call?.typename !== 'FunCall') return undefined;
  const callee = call['name'] as TemplateNode;
  const name = INLINED_NAMES.find((n) => n === callee['value']);
  if (callee.typename !== 'Symbol' || name === undefined) return undefined;
  const args: unknown[] = [];
  for (const arg of (call['args'] as TemplateNode)['children'] as TemplateNode[]) {
    if (isLiteral(arg)) args.push(arg.value);
    else if (arg.typename === 'KeywordArgs') {
      const keywords: Record<string, unknown> = {};
      for (const pair of arg['children'] as TemplateNode[]) {
        const key = pair['key'] as TemplateNode;
        const value = pair['value'];
        if (key.typename !== 'Symbol' || !isLiteral(value)) return undefined;
        keywords[key['value'] as string] = value.value;
      }
      args.push({ ...keywords, __keywords: true });
    } else return undefined;
  }
  return { name, args };
}
