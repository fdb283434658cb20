// The pure parts of the lean S3 path (src/s3/lean/): the XML reader (entities, odd keys, what it refuses)
// and the SigV4 signer, whose Authorization header must equal the one the SDK's own signer
// (@smithy/signature-v4) computes for the same request and instant. Table-driven.
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { serviceError } from '../src/s3/lean/service-error.js';
import { canonicalQuery, encodeKeyPath, SigV4Signer } from '../src/s3/lean/sign.js';
import { childrenNamed, childText, parseXml } from '../src/s3/lean/xml.js';

describe('the XML reader', () => {
  it('reads a ListObjects page with entities, character references, CDATA and keys with odd characters', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IsTruncated>true</IsTruncated>
  <Contents><Key>a &amp; b/&lt;c&gt; &quot;d&quot; &apos;e&apos;.txt</Key><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents>
  <Contents><Key>&#233;&#x1F600; +%~ </Key><ETag>"x"</ETag><Size>0</Size></Contents>
  <Contents><Key><![CDATA[raw <key> & more]]></Key></Contents>
  <Empty/>
</ListBucketResult>`;
    const root = parseXml(xml);
    expect(root.name).toBe('ListBucketResult');
    expect(childText(root, 'IsTruncated')).toBe('true');
    expect(childrenNamed(root, 'Contents').map((c) => childText(c, 'Key'))).toEqual([
      `a & b/<c> "d" 'e'.txt`,
      'é😀 +%~ ',
      'raw <key> & more',
    ]);
    expect(childText(childrenNamed(root, 'Contents')[0]!, 'ETag')).toBe('"abc"');
    expect(childText(root, 'Empty')).toBe('');
  });

  it.each([
    ['an HTML page', '<html><body><p>Welcome<br></p></body></html>'],
    ['plain text', 'Not Found'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['a bare ampersand', '<a>x & y</a>'],
    ['an entity named as a property every object has', '<a>&constructor;</a>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['an unclosed element', '<a><b></b>'],
    ['two roots', '<a/><b/>'],
    ['nothing', ''],
  ])('refuses %s with a Deserialization error', (_, text) => {
    expect(() => parseXml(text)).toThrow(/^Deserialization error/);
  });

  it.each([
    ['<a>x & y</a>', 'an unterminated entity near "&"'],
    ['<a>&amp&lt;</a>', 'an unterminated entity near "&amp"'],
    ['<a>&a\u00a0b;</a>', 'an unterminated entity near "&a"'],
    ['<a>&amp', 'an unterminated entity near "&amp"'],
    ['<a>&nbsp;</a>', 'an unknown entity &nbsp;'],
    ['<a>&;</a>', 'an unknown entity &;'],
    ['<a>&#xZZ;</a>', 'a bad character reference &#xZZ;'],
    ['<a>&#X41;</a>', 'a bad character reference &#X41;'],
    ['<a>&#1114112;</a>', 'a bad character reference &#1114112;'],
  ])('names the bad entity in %j', (xml, why) => {
    expect(() => parseXml(xml)).toThrow(`Deserialization error: the answer is not well-formed XML (${why})`);
  });

  it('makes SDK-shaped errors, and an HTML error page one that diagnosis.ts calls "not S3"', () => {
    const body =
      '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>R1</RequestId></Error>';
    const err = serviceError(404, { 'retry-after': '2' }, body, false) as Error & Record<string, unknown>;
    expect([err.name, err['Code'], err.message, err['$fault']]).toEqual([
      'NoSuchKey',
      'NoSuchKey',
      'The specified key does not exist.',
      'client',
    ]);
    expect(err['$metadata']).toEqual({ httpStatusCode: 404, requestId: 'R1' });
    expect(err['$retryAfterMs']).toBe(2000);
    const html = serviceError(502, {}, '<html><body>Bad gateway</body></html>', false);
    expect([html.name, html.message]).toEqual([
      'BadGateway',
      expect.stringMatching(/^Deserialization error/),
    ]);
    expect(serviceError(503, {}, '', true)).toMatchObject({
      name: 'ServiceUnavailable',
      $fault: 'server',
      $metadata: { httpStatusCode: 503, clockSkewCorrected: true },
    });
  });
});

/** SHA-256 in the shape the SDK's signer takes. */
class Sha256 {
  readonly #h;
  constructor(secret?: string | Uint8Array) {
    this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array) {
    this.#h.update(data);
  }
  async digest() {
    return this.#h.digest();
  }
}

describe('the SigV4 signer', () => {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const date = new Date('2026-12-02T10:50:00Z');
  interface Case {
    method: string;
    key: string | undefined;
    query: Record<string, string>;
    headers: Record<string, string>;
    body: Buffer | undefined;
  }
  const cases: Case[] = [
    { method: 'GET', key: 'app/.nunjucks-s3/record.json', query: {}, headers: {}, body: undefined },
    {
      method: 'GET',
      key: undefined,
      query: { prefix: 'a b/+&%~é', marker: "x!'()*", 'max-keys': '1000' },
      headers: {},
      body: undefined,
    },
    {
      method: 'GET',
      key: undefined,
      query: { uploads: '', prefix: 'static/' },
      headers: {},
      body: undefined,
    },
    {
      method: 'PUT',
      key: "static/ünï cødé/100% sure #1?!'()*~+&.css",
      query: {},
      headers: {
        'content-type': 'text/css',
        'cache-control': 'public, max-age=60',
        'x-amz-meta-k': '  a  b ',
        'if-none-match': '*',
      },
      body: Buffer.from('body { color: red }'),
    },
    { method: 'DELETE', key: 'k', query: { uploadId: 'abc/def+=' }, headers: {}, body: undefined },
    {
      method: 'PUT',
      key: undefined,
      query: { acl: '' },
      headers: { 'x-amz-acl': 'public-read' },
      body: Buffer.alloc(0),
    },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('signs request %i as the SDK does', async (_, c) => {
    for (const sessionToken of [undefined, 'session-token-value']) {
      const path = `/bucket${c.key === undefined ? '' : `/${encodeKeyPath(c.key)}`}`;
      const base = { host: '127.0.0.1:7480', 'content-length': String(c.body?.length ?? 0), ...c.headers };
      const ours: Record<string, string> = { ...base };
      new SigV4Signer({ ...credentials, sessionToken }, 'us-east-1').sign(
        { method: c.method, path, query: c.query, headers: ours, body: c.body },
        date,
      );
      const sdk = new SignatureV4({
        credentials: { ...credentials, sessionToken },
        region: 'us-east-1',
        service: 's3',
        sha256: Sha256 as never,
        uriEscapePath: false,
        applyChecksum: true,
      });
      const signed = await sdk.sign(
        {
          method: c.method,
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: 7480,
          path,
          query: c.query,
          headers: { ...base },
          body: c.body,
        } as never,
        { signingDate: date },
      );
      expect(ours['authorization']).toBe(
        (signed as unknown as { headers: Record<string, string> }).headers['authorization'],
      );
    }
    expect(canonicalQuery(c.query)).not.toMatch(/[^A-Za-z0-9\-._~%=&]/);
  });
});
