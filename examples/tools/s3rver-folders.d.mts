// Types of s3rver-folders.mjs, for the TypeScript callers (the tests' global setup, the benchmarks).
import type S3rver from 's3rver';

/** Replaces the store's deleteObject of this s3rver with one that keeps the object's folder. */
export function keepFoldersOfDeletedObjects(s3rver: S3rver): S3rver;
