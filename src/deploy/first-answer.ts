// The first request of a deploy (the record's GET) decides whether the endpoint is there at all. A
// server that accepts connections and never answers would otherwise hold it for every attempt of the
// retry policy (five minutes with the defaults) in silence. So the first request gets a deadline of its
// own, shorter than the retry budget, and while it waits the logger says so every few seconds. A run
// that gets no answer fails with the same ConfigError as one whose connection is refused: either way,
// nothing was sent and the endpoint setting is what to check.

import { setting, settingLabel } from '../config.js';
import { ConfigError } from '../errors.js';
import { redact } from '../s3/redact.js';
import type { DeployContext } from './types.js';

/** The longest the first request may take, all attempts together, before the endpoint counts as dead. */
export const FIRST_ANSWER_LIMIT_MS = 20_000;

/** How often the logger says it is still waiting. */
export const WAITING_NOTICE_MS = 5_000;

/** requestTimeout's default: a value above it is a statement that the server is slow. */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/**
 * The deadline of the first request: the retry budget, capped at {@link FIRST_ANSWER_LIMIT_MS}; a
 * requestTimeout raised above its default (a server known to be slow) is the cap instead.
 */
export function firstAnswerLimit(config: { requestTimeout: number; maxAttempts: number }): number {
  const budget = config.requestTimeout * config.maxAttempts;
  const cap =
    config.requestTimeout > DEFAULT_REQUEST_TIMEOUT_MS ? config.requestTimeout : FIRST_ANSWER_LIMIT_MS;
  return Math.min(budget, cap);
}

/** Where the requests go, for messages (a password in the endpoint URL masked). */
export function endpointName(run: Pick<DeployContext, 'config' | 'secrets'>): string {
  return redact(run.config.endpointUrl ?? 'S3', run.secrets);
}

/**
 * Run the deploy's first request with its own deadline, saying every few seconds that it is waiting.
 * `request` gets the deploy with a signal that fires at the deadline (or when the caller aborts).
 */
export async function awaitFirstAnswer<T>(
  run: DeployContext,
  what: string,
  request: (run: DeployContext) => Promise<T>,
): Promise<T> {
  const limitMs = firstAnswerLimit(run.config);
  const deadline = new AbortController();
  const startedAt = performance.now();
  const timer = setTimeout(() => deadline.abort(), limitMs);
  const notices = setInterval(() => {
    const waited = Math.round((performance.now() - startedAt) / 1000);
    run.logger.info?.(
      `waiting for ${endpointName(run)} to answer (${what}): ${waited} s so far, giving up after ${Math.round(limitMs / 1000)} s`,
    );
  }, WAITING_NOTICE_MS);
  const signal = run.signal ? AbortSignal.any([run.signal, deadline.signal]) : deadline.signal;
  try {
    return await request({ ...run, signal });
  } catch (err) {
    if (deadline.signal.aborted && !run.signal?.aborted) throw noAnswer(run, what, limitMs, err);
    throw err;
  } finally {
    clearTimeout(timer);
    clearInterval(notices);
  }
}

/** The ConfigError of an endpoint that did not answer the first request in time. */
function noAnswer(run: DeployContext, what: string, limitMs: number, cause: unknown): ConfigError {
  const endpoint = settingLabel(setting('endpointUrl'));
  const timeout = settingLabel(setting('requestTimeout'));
  return new ConfigError(
    'CONFIG_ENDPOINT',
    `${what} s3://${run.bucket}: no answer from ${endpointName(run)} within ${limitMs / 1000} s: the server ` +
      `accepts connections but does not answer. Check ${endpoint} and that the server is an S3 API that is up ` +
      `(or raise ${timeout} above ${DEFAULT_REQUEST_TIMEOUT_MS} ms for a very slow one). Nothing was uploaded`,
    { cause, setting: endpoint },
  );
}
