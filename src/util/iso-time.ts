// Times in the shape toISOString() writes them, recognised without Date: the record's claims and the
// listings carry tens of thousands of them, and a pattern is several times cheaper than Date.parse.

/**
 * toISOString's shape, with a day every month has and an hour before 24. Date reads every such text as
 * the time it says, and writes it back unchanged; it rolls a day past the month's end into the next month
 * and 24:00 into the next day, so days from the 29th and hour 24 are left to Date.
 */
const EXACT_ISO_TIME =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** Whether `text` is a time Date reads, and toISOString would write as `text` itself (see above). */
export function isExactIsoTime(text: string): boolean {
  return EXACT_ISO_TIME.test(text);
}
