// One isolated QuickJS WebAssembly instance per interpreter, its linear memory capped so the heap
// limit holds. (QuickJS's own malloc accounting cannot see allocation sizes in this Emscripten
// build, so only the WebAssembly memory maximum bounds the heap as a whole.) The instance's code
// is loaded by the variant package itself; creating one takes a few milliseconds.

import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncPackage from '@jitl/quickjs-wasmfile-release-sync';

/** The package's ESM entry exports the variant as default (its CommonJS typings say otherwise). */
const releaseSyncVariant = releaseSyncPackage as unknown as QuickJSSyncVariant;

const WASM_PAGE_BYTES = 65_536;
/**
 * Linear memory the QuickJS build starts with (static data, C stack, first heap pages): its
 * WebAssembly module refuses a smaller memory, and the heap may grow `maxHeapBytes` beyond it.
 */
const QUICKJS_BASE_MEMORY_BYTES = 16 * 1024 * 1024;

interface WebAssemblyMemoryConstructor {
  new (descriptor: { initial: number; maximum: number }): object;
}

export async function newQuickJsInstance(maxHeapBytes: number): Promise<QuickJSWASMModule> {
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WebAssemblyMemoryConstructor } }).WebAssembly;
  const initial = QUICKJS_BASE_MEMORY_BYTES / WASM_PAGE_BYTES;
  const memory = new Memory({ initial, maximum: initial + Math.ceil(maxHeapBytes / WASM_PAGE_BYTES) });
  return newQuickJSWASMModuleFromVariant(newVariant(releaseSyncVariant, { wasmMemory: memory as never, log: () => {} }));
}
