// The requests a deploy's state and its common paths make, as one small interface with two
// implementations: the SDK's client (sdk-store.ts) and the lean signed-HTTP path (lean/lean-store.ts),
// chosen by edge.ts. Both throw errors shaped as the SDK's (name/Code, $metadata.httpStatusCode...), so
// errors.ts, retry.ts, diagnosis.ts and redact.ts read them alike, and both retry with the one policy of
// retry.ts. A missing object is an error (NoSuchKey, HTTP 404), as from the SDK: callers decide.

/** A whole object as its GET answered it. */
export interface FetchedObject {
  body: Buffer;
  /** The ETag of these bytes, as the server sends it (quoted, usually); undefined when it sent none. */
  etag: string | undefined;
}

/** One object of a listing page. */
export interface StoredObject {
  key: string;
  /** As the server sends it (quoted, usually). */
  etag: string;
  size: number;
  /**
   * LastModified as toISOString writes it (readers normalise what the server sent), or undefined when
   * it sent none or not a time. Text, not a Date: a deploy compares it as text with the claims' times,
   * and ten thousand Dates made and written out again cost an unchanged deploy several milliseconds.
   */
  lastModified: string | undefined;
}

/** One page of ListObjects (v1): keys after `marker`, in key order. */
export interface ObjectPage {
  objects: StoredObject[];
  isTruncated: boolean;
  /** Only when the server sends it (with a delimiter, or some servers always): else the last key. */
  nextMarker: string | undefined;
}

/** One incomplete multipart upload. */
export interface StoredUpload {
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

/** One page of ListMultipartUploads. */
export interface UploadPage {
  uploads: StoredUpload[];
  isTruncated: boolean;
  nextKeyMarker: string | undefined;
  nextUploadIdMarker: string | undefined;
}

/** A small object to PUT. */
export interface SmallObject {
  bucket: string;
  key: string;
  body: string | Uint8Array;
  contentType?: string | undefined;
  cacheControl?: string | undefined;
  /** `'*'`: create only, refused with 412 where the server honours it. */
  ifNoneMatch?: '*' | undefined;
}

/** Where to list. */
export interface ListInput {
  bucket: string;
  prefix?: string | undefined;
  marker?: string | undefined;
  maxKeys?: number | undefined;
}

export interface ObjectStore {
  /** GetObject: the whole body. */
  getObject(bucket: string, key: string, signal?: AbortSignal): Promise<Buffer>;
  /**
   * GetObject with the ETag of the bytes read: a later listing that shows the key with that ETag shows
   * the same object, unchanged (record-store.ts reads the record once per deploy this way).
   */
  getObjectWithEtag(bucket: string, key: string, signal?: AbortSignal): Promise<FetchedObject>;
  /**
   * PutObject of a small body in memory (the deploy's own state objects), always with its Content-MD5: a
   * bucket with Object Lock default retention refuses a PUT without one (src/content/md5.ts).
   */
  putObject(object: SmallObject, signal?: AbortSignal): Promise<void>;
  deleteObject(bucket: string, key: string, signal?: AbortSignal): Promise<void>;
  /** ListObjects (v1) with Marker: s3rver's ListObjectsV2 continuation tokens fail under OpenSSL 3. */
  listObjects(input: ListInput, signal?: AbortSignal): Promise<ObjectPage>;
  listMultipartUploads(
    input: {
      bucket: string;
      prefix?: string | undefined;
      keyMarker?: string | undefined;
      uploadIdMarker?: string | undefined;
    },
    signal?: AbortSignal,
  ): Promise<UploadPage>;
  abortMultipartUpload(
    input: { bucket: string; key: string; uploadId: string },
    signal?: AbortSignal,
  ): Promise<void>;
  /** PutBucketAcl with a canned ACL (`public-read`). */
  putBucketAcl(bucket: string, acl: string, signal?: AbortSignal): Promise<void>;
}
