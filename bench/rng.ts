// Seeded pseudo-random numbers for the benchmarks: the same seed gives the same site, the same sample of
// files to check and the same 2% to change, so two runs (or two machines) measure the same work.

/** sfc32: small, fast and good enough for picking sizes and bytes (not for anything secret). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** Log-uniform integer in [min, max]: many small values, a long tail, like real asset sizes. */
  logInt(min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + this.float() * (Math.log(max) - Math.log(min))));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** `count` distinct indexes of [0, n), in random order. */
  sample(n: number, count: number): number[] {
    const idx = Array.from({ length: n }, (_, i) => i);
    const k = Math.min(count, n);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.float() * (n - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx.slice(0, k);
  }

  /** Fill a buffer with random bytes. */
  fill(buf: Buffer): Buffer {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) buf.writeUInt32LE(this.next(), i);
    for (; i < buf.length; i++) buf[i] = this.next() & 0xff;
    return buf;
  }
}
