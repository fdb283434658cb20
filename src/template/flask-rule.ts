// Flask (Werkzeug) route rules in app.router tables: `/users/<int:id>/update` is turned into the
// path-to-regexp pattern router.ts compiles (`/users/:id/update`), and remembers each variable's
// converter so a value the Flask app would not route (`id='seven'` for `<int:id>`) is an error at
// url_for time instead of a broken link. Pure: strings in, data out.

/** Werkzeug's built-in converters this module understands, with what each accepts. */
export const FLASK_CONVERTERS = ['string', 'int', 'float', 'path', 'uuid'] as const;

export type FlaskConverter = (typeof FLASK_CONVERTERS)[number];

/** A Flask rule, translated. */
export interface TranslatedRule {
  /** The rule in path-to-regexp syntax: `<x>` became `:x`, `<path:x>` became `*x`, text escaped. */
  readonly pattern: string;
  /** Each variable's converter; `string` and `path` accept any value. */
  readonly converters: ReadonlyMap<string, FlaskConverter>;
}

/** The pattern syntax, shown in every error about a pattern. */
export const PATTERN_SYNTAX =
  "path-to-regexp (':id', '*path', '{/:optional}') or Flask rules ('<id>', '<int:id>', '<float:x>', '<uuid:u>', '<path:p>', '<string:name>')";

/** Thrown for a rule this module cannot translate; router.ts turns it into a ConfigError. */
export class FlaskRuleError extends Error {
  override name = 'FlaskRuleError' as const;
}

const VARIABLE = /<(?:([A-Za-z_][A-Za-z0-9_]*)(\([^)]*\))?:)?([^<>]*)>/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters path-to-regexp reads as syntax; in a Flask rule they are plain text. */
const PATTERN_SPECIALS = /[{}()[\]+?!:*\\]/g;

/** Whether a pattern is written as a Flask rule (it has a `<...>` variable). */
export function isFlaskRule(pattern: string): boolean {
  return pattern.includes('<') || pattern.includes('>');
}

function escapeText(text: string): string {
  if (text.includes('<') || text.includes('>')) {
    throw new FlaskRuleError(`unbalanced '<' or '>' in ${JSON.stringify(text)}`);
  }
  return text.replace(PATTERN_SPECIALS, (c) => `\\${c}`);
}

function converterOf(name: string | undefined, args: string | undefined, variable: string): FlaskConverter {
  const converter = name ?? 'string';
  if (!(FLASK_CONVERTERS as readonly string[]).includes(converter)) {
    throw new FlaskRuleError(
      `unknown converter ${JSON.stringify(converter)} in <${converter}:${variable}> (known: ${FLASK_CONVERTERS.join(', ')})`,
    );
  }
  if (args !== undefined) {
    throw new FlaskRuleError(
      `converter arguments are not supported: <${converter}${args}:${variable}>; write <${converter}:${variable}>`,
    );
  }
  return converter as FlaskConverter;
}

/** Translates a Flask rule; throws a FlaskRuleError naming the part it cannot read. */
export function translateFlaskRule(rule: string): TranslatedRule {
  const converters = new Map<string, FlaskConverter>();
  let pattern = '';
  let last = 0;
  for (const match of rule.matchAll(VARIABLE)) {
    const [whole, converterName, args, variable = ''] = match;
    if (!NAME.test(variable)) {
      throw new FlaskRuleError(`${JSON.stringify(whole)} does not name a variable (letters, digits, '_')`);
    }
    if (converters.has(variable)) throw new FlaskRuleError(`variable ${variable} appears twice`);
    const converter = converterOf(converterName, args, variable);
    converters.set(variable, converter);
    pattern += escapeText(rule.slice(last, match.index));
    // Quoted names, so text right after a variable (`<id>abc`) is not read as part of its name.
    pattern += `${converter === 'path' ? '*' : ':'}"${variable}"`;
    last = match.index + whole.length;
  }
  pattern += escapeText(rule.slice(last));
  return { pattern, converters };
}

const INT = /^\d+$/;
const FLOAT = /^\d+(\.\d+)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why a printed value does not fit its converter (as Werkzeug's would refuse it), or undefined when it
 * fits. `int` takes non-negative integers, `float` non-negative decimals, `uuid` a UUID.
 */
export function converterMismatch(converter: FlaskConverter, printed: string): string | undefined {
  switch (converter) {
    case 'int':
      return INT.test(printed) ? undefined : 'a non-negative integer';
    case 'float':
      return FLOAT.test(printed) ? undefined : 'a non-negative number';
    case 'uuid':
      return UUID.test(printed) ? undefined : 'a UUID';
    default:
      return undefined;
  }
}
