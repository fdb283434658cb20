// The host router for non-static endpoints: app.router as a function (called as it is) or a table of
// endpoint names to path-to-regexp patterns, compiled once at init. Values a pattern does not use become
// the query string (url.ts's encoder, as for static URLs); `_anchor` becomes the fragment. A pattern
// written as a Flask rule (`/<int:id>/update`) is translated first (flask-rule.ts). Only this file knows
// path-to-regexp.

import { compile, type PathFunction, parse, type Token } from 'path-to-regexp';
import type { Router, UrlValues } from '../app.js';
import { ConfigError, UrlBuildError } from '../errors.js';
import {
  converterMismatch,
  type FlaskConverter,
  FlaskRuleError,
  isFlaskRule,
  PATTERN_SYNTAX,
  translateFlaskRule,
} from './flask-rule.js';
import { appendQuery, callName, encodeFragment, encodeUrlSegment, printValue } from './url.js';

/** Builds the URL of a non-static endpoint. */
export type RouteBuilder = (endpoint: string, values: UrlValues) => string;

/** Keywords url_for itself understands; never part of a table route's query string. */
const SPECIAL = new Set(['_anchor', '_scheme', '_external', '_method', '__keywords']);

interface Param {
  readonly name: string;
  readonly wildcard: boolean;
  /** Outside every `{...}` group: the pattern cannot be built without it. */
  readonly required: boolean;
  /** A Flask rule's converter (`int`, `uuid`...): values it would not route are refused. */
  readonly converter: FlaskConverter | undefined;
}

interface CompiledRoute {
  readonly pattern: string;
  readonly params: readonly Param[];
  readonly names: ReadonlySet<string>;
  readonly build: PathFunction<Record<string, string>>;
}

function collectParams(tokens: readonly Token[], required: boolean, out: Param[]): Param[] {
  for (const token of tokens) {
    if (token.type === 'group') collectParams(token.tokens, false, out);
    else if (token.type !== 'text')
      out.push({ name: token.name, wildcard: token.type === 'wildcard', required, converter: undefined });
  }
  return out;
}

function routerPatternError(where: string, pattern: string, reason: string, cause: unknown): ConfigError {
  return new ConfigError(
    'CONFIG_ROUTER',
    `${where}: ${JSON.stringify(pattern)} is not a valid path pattern (${reason}); the syntax is ${PATTERN_SYNTAX}`,
    { setting: 'app.router', cause },
  );
}

/** The path-to-regexp pattern of a table entry, and the converters of a Flask rule's variables. */
function translate(
  where: string,
  pattern: string,
): { source: string; converters: Map<string, FlaskConverter> } {
  if (!isFlaskRule(pattern)) return { source: pattern, converters: new Map() };
  try {
    const rule = translateFlaskRule(pattern);
    return { source: rule.pattern, converters: new Map(rule.converters) };
  } catch (err) {
    if (err instanceof FlaskRuleError) throw routerPatternError(where, pattern, err.message, err);
    throw err;
  }
}

function compileRoute(endpoint: string, pattern: unknown): CompiledRoute {
  const where = `app.router[${JSON.stringify(endpoint)}]`;
  if (typeof pattern !== 'string') {
    throw new ConfigError(
      'CONFIG_ROUTER',
      `${where} must be a path pattern string like '/users/:id', got ${pattern === null ? 'null' : typeof pattern}`,
      { setting: 'app.router' },
    );
  }
  const { source, converters } = translate(where, pattern);
  try {
    const data = parse(source);
    const params = collectParams(data.tokens, true, []).map((p) => ({
      ...p,
      converter: converters.get(p.name),
    }));
    // Values are encoded here (encodeUrlSegment), so path-to-regexp must not encode them again.
    const build = compile<Record<string, string>>(data, { encode: false });
    return { pattern, params, names: new Set(params.map((p) => p.name)), build };
  } catch (err) {
    throw routerPatternError(where, pattern, (err as Error).message, err);
  }
}

function routeError(code: string, endpoint: string, message: string): UrlBuildError {
  return new UrlBuildError(code, endpoint, `${callName(endpoint)}: ${message}`);
}

/** A `:param` value as one encoded segment, or undefined when absent (`none`, `''`). */
function segmentValue(
  endpoint: string,
  route: CompiledRoute,
  param: Param,
  value: unknown,
): string | undefined {
  if (param.wildcard && Array.isArray(value)) {
    const parts = value
      .map((v) => printValue(v, param.name, endpoint))
      .filter((v) => v !== undefined && v !== '');
    return parts.length === 0
      ? undefined
      : parts.map((p) => encodeUrlSegment(p as string, endpoint)).join('/');
  }
  if (Array.isArray(value)) {
    throw routeError(
      'URL_BAD_VALUE',
      endpoint,
      `:${param.name} in ${JSON.stringify(route.pattern)} takes one value, got a list (use *${param.name} for several segments)`,
    );
  }
  const printed = printValue(value, param.name, endpoint);
  if (printed === undefined || printed === '') return undefined;
  const mismatch = param.converter && converterMismatch(param.converter, printed);
  if (mismatch) {
    throw routeError(
      'URL_BAD_VALUE',
      endpoint,
      `<${param.converter}:${param.name}> in ${JSON.stringify(route.pattern)} takes ${mismatch}, got ${JSON.stringify(printed)}`,
    );
  }
  // A wildcard given as a string keeps its slashes: it spans segments by design.
  return param.wildcard
    ? printed
        .split('/')
        .map((s) => encodeUrlSegment(s, endpoint))
        .join('/')
    : encodeUrlSegment(printed, endpoint);
}

function buildFromTable(endpoint: string, route: CompiledRoute, values: UrlValues): string {
  const params: Record<string, string> = {};
  for (const param of route.params) {
    const encoded = segmentValue(endpoint, route, param, values[param.name]);
    if (encoded !== undefined) params[param.name] = encoded;
    else if (param.required) {
      throw routeError(
        'URL_MISSING_PARAM',
        endpoint,
        `missing value for ${param.wildcard ? '*' : ':'}${param.name} (route ${JSON.stringify(route.pattern)})`,
      );
    }
  }
  let url = route.build(params);
  let query = '';
  for (const key of Object.keys(values)) {
    if (!route.names.has(key) && !SPECIAL.has(key)) query = appendQuery(query, key, values[key], endpoint);
  }
  if (query !== '') url += '?' + query;
  const anchor = printValue(values['_anchor'], '_anchor', endpoint);
  if (anchor !== undefined) url += '#' + encodeFragment(anchor, endpoint);
  return url;
}

/**
 * Turn `app.router` into the builder url_for calls for every non-static endpoint. A table is compiled
 * here, once: a bad pattern is a ConfigError at init, not at render time. Without a router, and for an
 * endpoint a table does not have, the builder throws a UrlBuildError naming the endpoint.
 *
 * A function router gets the endpoint and the keywords as given (`_anchor`, `_scheme`, `_external`
 * included; {@link formatQuery} encodes a query string the same way url_for does) and must return a
 * string. Table routes give root-relative URLs; `_scheme`/`_external` do not apply to them (they have
 * no host to be absolute against).
 */
export function compileRouter(router: Router | undefined): RouteBuilder {
  if (router === undefined || router === null) {
    return (endpoint) => {
      throw routeError(
        'URL_UNKNOWN_ENDPOINT',
        endpoint,
        'it is not a static endpoint and the app has no router (set app.router to a function or a table of path patterns)',
      );
    };
  }
  if (typeof router === 'function') {
    return (endpoint, values) => {
      const url = router(endpoint, values);
      if (typeof url !== 'string') {
        throw routeError(
          'URL_ROUTER_RESULT',
          endpoint,
          `app.router returned ${url === null ? 'null' : typeof url}, not a URL string`,
        );
      }
      return url;
    };
  }
  if (typeof router !== 'object' || Array.isArray(router)) {
    throw new ConfigError(
      'CONFIG_ROUTER',
      `app.router must be a function (endpoint, values) => url or an object of endpoint names to path patterns, got ${Array.isArray(router) ? 'an array' : typeof router}`,
      { setting: 'app.router' },
    );
  }
  const routes = new Map<string, CompiledRoute>();
  for (const [endpoint, pattern] of Object.entries(router))
    routes.set(endpoint, compileRoute(endpoint, pattern));
  const known = [...routes.keys()];
  const knownList =
    known.length <= 12 ? known.join(', ') : `${known.slice(0, 12).join(', ')}, ... (${known.length} in all)`;
  return (endpoint, values) => {
    const route = routes.get(endpoint);
    if (route === undefined) {
      throw routeError(
        'URL_UNKNOWN_ENDPOINT',
        endpoint,
        `no route for it in app.router (${known.length ? `known: ${knownList}` : 'it is empty'})`,
      );
    }
    return buildFromTable(endpoint, route, values);
  };
}
