// Content hashes: xxh64 (xxhash-wasm's WebAssembly module, xxh64.ts) over a file's bytes, as 16 hex
// digits. The upload record and fingerprinted URLs use the same function, so a hash in one means the same
// in the other. xxh64 is not cryptographic: it detects change, it does not defend against someone who
// controls the files (they control what is uploaded anyway). The module is instantiated once per process,
// synchronously, on first use.

import { readFileInChunks } from '../util/chunked-read.js';
import { loadXxh64, type Xxh64 } from './xxh64.js';

let xxh64: Xxh64 | undefined;

function hex(n: bigint): string {
  return n.toString(16).padStart(16, '0');
}

/** An incremental xxh64: feed it chunks, then read the hash once. */
export interface HashState {
  update(bytes: Uint8Array): void;
  /** The hash of everything fed, 16 hex digits. */
  digest(): string;
}

/** Hashes bytes and files once the wasm module is ready; get one with {@link createHasher}. */
export interface Hasher {
  /** xxh64 of the bytes, 16 lower-case hex digits (`''` gives `ef46db3751d8e999`). */
  hashBytes(bytes: Uint8Array): string;
  /** An incremental hash, for bytes that arrive in chunks (streams). */
  createState(): HashState;
  /** xxh64 and size of a file, read in chunks (memory stays flat whatever its size). */
  hashFile(file: string, chunkSize?: number): Promise<{ hash: string; size: number }>;
}

/** A {@link Hasher}, at once: the first call instantiates the wasm module, later calls reuse it. */
export function createHasherSync(): Hasher {
  xxh64 ??= loadXxh64();
  const h = xxh64;
  const createState = (): HashState => {
    const state = h.create();
    return {
      update: (bytes) => state.update(bytes),
      digest: () => hex(state.digest()),
    };
  };
  return {
    hashBytes: (bytes) => hex(h.hash(bytes)),
    createState,
    async hashFile(file, chunkSize) {
      const state = createState();
      const size = await readFileInChunks(file, (chunk) => state.update(chunk), { chunkSize });
      return { hash: state.digest(), size };
    },
  };
}

/** A {@link Hasher} (see {@link createHasherSync}); async for the callers written when loading was. */
export async function createHasher(): Promise<Hasher> {
  return createHasherSync();
}

/** xxh64 of the bytes as 16 hex digits (convenience for one-off use). */
export async function contentHash(bytes: Uint8Array | string): Promise<string> {
  const h = await createHasher();
  return h.hashBytes(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
}
