// The CLI's own error: the command line is wrong. Kept apart so that every CLI module can throw it.

import { NunjucksS3Error } from '../errors.js';

/** The command line is wrong (unknown flag, missing value, bad argument). The CLI exits with 2. */
export class UsageError extends NunjucksS3Error {
  override name = 'UsageError' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('CLI_USAGE', message, options);
  }
}
