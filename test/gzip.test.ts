import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipBuffer, gzipStream } from '../src/content/gzip.js';

describe('gzip', () => {
  it.each([
    ['empty', ''],
    ['short', 'hello'],
    ['repetitive', 'body { color: red }\n'.repeat(5000)],
  ])(
    '%s: deterministic header (mtime 0, OS unix), same bytes from the buffer and the stream',
    async (_name, input) => {
      const a = await gzipBuffer(Buffer.from(input));
      const b = await gzipBuffer(Buffer.from(input));
      expect(a.equals(b)).toBe(true);
      expect(a.readUInt32LE(4)).toBe(0);
      expect(a[9]).toBe(3);
      expect(gunzipSync(a).toString()).toBe(input);
      const chunks = input.match(/[\s\S]{1,1000}/g) ?? [];
      const streamed = await buffer(gzipStream(Readable.from(chunks.map((c) => Buffer.from(c)))));
      expect(streamed.equals(a)).toBe(true);
    },
  );

  it('a stream error reaches the consumer', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(text(gzipStream(failing))).rejects.toThrow('disk on fire');
  });
});
