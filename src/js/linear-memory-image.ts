// A copy of a QuickJS instance's WebAssembly memory, to put an interpreter back exactly as it was:
// QuickJS keeps all of its state (runtime, context, objects, compiled code, the allocator's own
// bookkeeping) in that memory, so restoring the bytes restores the interpreter, far faster than
// building a new runtime and context and evaluating the `ccf` prelude again.
//
// The copy stops at the last non-zero byte. Everything an allocator hands out lies below a header
// it wrote after it (the next chunk's, or the free top's), whose size field is never zero; what lies
// beyond is memory no allocation owns yet, whose content nothing reads before writing it.

/** The memory a QuickJS instance runs in (its `getWasmMemory()`). */
export interface LinearMemory {
  readonly buffer: ArrayBufferLike;
}

export class LinearMemoryImage {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Copies `memory` up to its last non-zero byte. */
  static capture(memory: LinearMemory): LinearMemoryImage {
    const view = new Uint8Array(memory.buffer);
    return new LinearMemoryImage(view.slice(0, usedLength(view)));
  }

  /** Bytes the image holds. */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /**
   * Puts the captured bytes back. Bytes beyond the image are left as calls wrote them, which no
   * allocation owns once the allocator's bookkeeping is back; `clearBeyond` also zeroes them, so
   * that an image captured next is no longer than its content.
   */
  restore(memory: LinearMemory, clearBeyond = false): void {
    const view = new Uint8Array(memory.buffer);
    view.set(this.#bytes);
    if (clearBeyond) view.fill(0, this.#bytes.byteLength);
  }
}

/** The length of `view` without its trailing zero bytes, rounded up to whole 8-byte words. */
function usedLength(view: Uint8Array): number {
  const words = new Float64Array(view.buffer, view.byteOffset, Math.floor(view.byteLength / 8));
  let end = words.length;
  // Comparing as doubles: only the all-zero bit pattern (and -0, the sign bit alone) equals 0.
  while (end > 0 && words[end - 1] === 0 && !Object.is(words[end - 1], -0)) end--;
  return end * 8;
}
