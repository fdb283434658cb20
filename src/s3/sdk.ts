// The AWS SDK, loaded on first use. Nothing in the template half reaches this file, so an app that only
// renders never pays for the SDK. The packages are loaded through `require` on purpose: their CommonJS
// builds are one bundled file each and load in about two thirds of the time of their ES module builds
// (hundreds of files), and a synchronous load lets `createS3Client` stay a plain function.

import { createRequire } from 'node:module';
import type * as ClientS3 from '@aws-sdk/client-s3';

const load = createRequire(import.meta.url);

let clientS3: typeof ClientS3 | undefined;

/** `@aws-sdk/client-s3`: the client and its commands. */
export function s3Sdk(): typeof ClientS3 {
  clientS3 ??= load('@aws-sdk/client-s3') as typeof ClientS3;
  return clientS3;
}
