// The bucket policy printed for servers that refuse object ACLs: pure text, no SDK.

/** A bucket policy that makes the static folders public, for servers that refuse ACLs. */
export function publicReadPolicy(bucket: string, keyPrefixes: readonly string[]): string {
  const resources = [...new Set(keyPrefixes.map((p) => `arn:aws:s3:::${bucket}/${p ? `${p}/` : ''}*`))];
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
