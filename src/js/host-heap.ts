// What the host allocates in a QuickJS instance's heap (the strings and byte buffers it passes in,
// module sources) must fail as an out-of-memory error when the heap is full. The library writes
// what it passes at the address `_malloc` returns without checking it: on a full heap that is 0,
// and a large value then overwrites QuickJS's static data. So the instance's `_malloc` is wrapped
// to throw instead, and a reserve is held from the start and given up on the first failure, so
// that building the error JS then sees still finds memory.

import { invariant } from '../errors.js';
import { GuestError } from './quickjs-bridge.js';

/** The allocator functions of the instance's Emscripten module, as the library calls them. */
interface EmscriptenAllocator {
  _malloc(size: number): number;
  _free(pointer: number): void;
}

/** Enough for the error a failed host call throws into JS (its message, the error object). */
const RESERVE_BYTES = 64 * 1024;

export class HostHeap {
  #released = false;

  /** Wraps `module`'s `_malloc` and takes the reserve; `module` is the library's Emscripten module. */
  constructor(module: unknown) {
    const allocator = module as Partial<EmscriptenAllocator> | undefined;
    invariant(typeof allocator?._malloc === 'function' && typeof allocator._free === 'function', 'the QuickJS module exposes _malloc and _free');
    const { _malloc: malloc, _free: free } = allocator as EmscriptenAllocator;
    const reserve = malloc.call(allocator, RESERVE_BYTES);
    invariant(reserve !== 0, 'a new QuickJS instance has room for the host reserve');
    allocator._malloc = (size: number): number => {
      const pointer = malloc.call(allocator, size);
      if (pointer !== 0) return pointer;
      if (!this.#released) {
        free.call(allocator, reserve);
        this.#released = true;
      }
      // QuickJS's own words for it, which the interpreter reports as JsOutOfMemory.
      throw new GuestError('InternalError', 'out of memory');
    };
  }

  /** Whether a host allocation failed and the reserve was given up: the heap should be restored before further use. */
  get exhausted(): boolean {
    return this.#released;
  }

  /** The memory was restored from an image taken while the reserve was held. */
  restored(): void {
    this.#released = false;
  }
}
