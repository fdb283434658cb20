// The times of listings (LastModified, Initiated), read from the text a server sent.

/** The date in a listing's text (LastModified, Initiated), or undefined when there is none or it is not one. */
export function dateOf(text: string | undefined): Date | undefined {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * Times toISOString writes exactly so: its shape, with fields Date takes as they are. Date rolls a day
 * past the month's end into the next month and 24:00 into the next day, so days from the 29th and hour
 * 24 are left to Date (they are read right, only not on this shortcut).
 */
const ISO_TIME = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/**
 * A listing's LastModified as toISOString writes it: as sent when that is already so (every server here,
 * and AWS, send that shape), else through Date; undefined when there is none or it is not a time.
 */
export function isoTimeOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (ISO_TIME.test(text)) return text;
  return dateOf(text)?.toISOString();
}
