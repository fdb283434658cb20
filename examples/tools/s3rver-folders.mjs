// Makes s3rver, the embedded S3 server of the demo, the tests and the benchmarks, safe under concurrent
// writes to one folder.
//
// s3rver keeps each object as files in a folder named after the key's prefix. Deleting the last object
// of a folder also removes the folder. A PUT into that folder that created it a moment earlier then
// opens its file in a folder that is gone. s3rver has no error handler on that file, so the ENOENT
// becomes an uncaught exception and ends the whole process s3rver runs in: the demo, or vitest's main
// process with the run's report unwritten. Two deploys do exactly this when one releases its lease
// object while the other writes its own beside it.
//
// Keeping the folders removes the race. S3 clients never see an empty folder: s3rver lists objects
// only, and a bucket with empty folders still counts as empty when it is deleted.
import { unlink } from 'node:fs/promises';

/** The files s3rver keeps for one object (FilesystemStore.deleteObject removes the same three). */
const OBJECT_FILES = ['object', 'object.md5', 'metadata.json'];

/**
 * Replaces the store's deleteObject of this s3rver with one that keeps the object's folder.
 * Call it on a server that has not yet answered a request.
 * @param {import('s3rver').default} s3rver
 * @returns {import('s3rver').default} the same server
 */
export function keepFoldersOfDeletedObjects(s3rver) {
  const store = s3rver.store;
  store.deleteObject = async (bucket, key) => {
    const removals = OBJECT_FILES.map((resource) =>
      unlink(store.getResourcePath(bucket, key, resource)).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      }),
    );
    await Promise.all(removals);
  };
  return s3rver;
}
