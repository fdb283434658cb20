// xxh64 from xxhash-wasm's WebAssembly module, instantiated synchronously. xxhash-wasm's own JavaScript
// only instantiates asynchronously, which made fingerprint.ts wait with a top-level await; a module graph
// with a top-level await cannot be loaded by `require()`, so CommonJS users could not load the package.
// The hashing itself is still xxhash-wasm's compiled code: this file reads the same .wasm file the
// package ships (its `workerd` build) and drives its exports as xxhash-wasm's JavaScript does. The
// tests compare every hash with xxhash-wasm's own functions.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The part of the WebAssembly global used here (the project compiles without the DOM's types). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface Xxh64Exports {
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
  xxh64(ptr: number, length: number, seed: bigint): bigint;
  init64(statePtr: number, seed: bigint): void;
  update64(statePtr: number, dataPtr: number, length: number): void;
  digest64(statePtr: number): bigint;
}

/** Bytes of xxh64's running state in the module's memory. */
const STATE_SIZE = 88;
const MASK_64 = 2n ** 64n - 1n;

/** The xxh64 functions: one-shot over bytes, and incremental. */
export interface Xxh64 {
  hash(bytes: Uint8Array): bigint;
  create(): { update(bytes: Uint8Array): void; digest(): bigint };
}

function wasmFile(): string {
  // The package's main entry is cjs/xxhash-wasm.cjs; the .wasm file sits in workerd/ beside it.
  const main = createRequire(import.meta.url).resolve('xxhash-wasm');
  return path.join(path.dirname(main), '..', 'workerd', 'xxhash.wasm');
}

/** Instantiate the module now (about a millisecond) and return its xxh64 functions. */
export function loadXxh64(): Xxh64 {
  const wasm = new Instance(new Module(readFileSync(wasmFile()))).exports as Xxh64Exports;
  let memory = new Uint8Array(wasm.mem.buffer);
  // Grow the memory so `length` bytes fit at `offset`.
  const reserve = (length: number, offset: number) => {
    const missing = offset + length - wasm.mem.buffer.byteLength;
    if (missing > 0) {
      wasm.mem.grow(Math.ceil(missing / 65536));
      memory = new Uint8Array(wasm.mem.buffer);
    }
  };
  return {
    hash(bytes) {
      reserve(bytes.byteLength, 0);
      memory.set(bytes);
      return wasm.xxh64(0, bytes.byteLength, 0n) & MASK_64;
    },
    create() {
      // Each state lives outside the module between calls (several may be in use at once) and is copied
      // in at offset 0 for each call, its data after it.
      reserve(STATE_SIZE, 0);
      const state = new Uint8Array(STATE_SIZE);
      memory.set(state);
      wasm.init64(0, 0n);
      state.set(memory.subarray(0, STATE_SIZE));
      return {
        update(bytes) {
          reserve(bytes.byteLength, STATE_SIZE);
          memory.set(state);
          memory.set(bytes, STATE_SIZE);
          wasm.update64(0, STATE_SIZE, bytes.byteLength);
          state.set(memory.subarray(0, STATE_SIZE));
        },
        digest() {
          memory.set(state);
          return wasm.digest64(0) & MASK_64;
        },
      };
    },
  };
}
