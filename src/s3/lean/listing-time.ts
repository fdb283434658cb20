// The times of listings (LastModified, Initiated), read from the text a server sent.

import { isExactIsoTime } from '../../util/iso-time.js';

/** The date in a listing's text (LastModified, Initiated), or undefined when there is none or it is not one. */
export function dateOf(text: string | undefined): Date | undefined {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * A listing's LastModified as toISOString writes it: as sent when that is already so (every server here,
 * and AWS, send that shape), else through Date; undefined when there is none or it is not a time.
 */
export function isoTimeOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (isExactIsoTime(text)) return text;
  return dateOf(text)?.toISOString();
}
