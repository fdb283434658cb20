// The bucket policy printed for servers that refuse object ACLs: pure text, no SDK.

/**
 * The resources a public-read policy names: each static folder's keys (`static/*`). A folder at the
 * bucket root (key prefix `''`) is not `*`, which would make the tool's own record (`.nunjucks-s3/`) and
 * everything else in the bucket public too: it is the top-level names of its own keys instead
 * (`css/*`, `favicon.ico`).
 */
export function publicResources(
  bucket: string,
  folderKeys: readonly string[],
  keys: readonly string[] = [],
): string[] {
  const resources = new Set<string>();
  for (const folder of folderKeys) {
    if (folder !== '') {
      resources.add(`arn:aws:s3:::${bucket}/${folder}/*`);
      continue;
    }
    for (const key of keys) {
      const slash = key.indexOf('/');
      resources.add(`arn:aws:s3:::${bucket}/${slash === -1 ? key : `${key.slice(0, slash)}/*`}`);
    }
  }
  return [...resources];
}

/**
 * A bucket policy that makes the static folders public, for servers that refuse ACLs. `keys`, the
 * object keys of the deploy, are needed only for a folder at the bucket root (see {@link publicResources}).
 */
export function publicReadPolicy(
  bucket: string,
  keyPrefixes: readonly string[],
  keys: readonly string[] = [],
): string {
  const resources = publicResources(bucket, keyPrefixes, keys);
  return JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicReadStaticAssets',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: resources.length === 1 ? resources[0] : resources,
        },
      ],
    },
    null,
    2,
  );
}
