// One isolated QuickJS WebAssembly instance per interpreter, its linear memory capped so the heap
// limit holds. (QuickJS's own malloc accounting cannot see allocation sizes in this Emscripten
// build, so only the WebAssembly memory maximum bounds the heap as a whole.) The instance's code
// is loaded by the variant package itself; creating one takes a few milliseconds.

import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSSyncVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';
import releaseSyncPackage from '@jitl/quickjs-wasmfile-release-sync';
import { HostHeap } from './host-heap.js';

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

export interface QuickJsInstance {
  readonly quickjs: QuickJSWASMModule;
  /** The host's allocations in the instance's heap, which fail cleanly when it is full. */
  readonly hostHeap: HostHeap;
}

export async function newQuickJsInstance(maxHeapBytes: number): Promise<QuickJsInstance> {
  const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: WebAssemblyMemoryConstructor } }).WebAssembly;
  const initial = QUICKJS_BASE_MEMORY_BYTES / WASM_PAGE_BYTES;
  const memory = new Memory({ initial, maximum: initial + Math.ceil(maxHeapBytes / WASM_PAGE_BYTES) });
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(releaseSyncVariant, { wasmMemory: memory as never, log: () => {} }));
  // The library's Emscripten module is not part of its typed API.
  return { quickjs, hostHeap: new HostHeap((quickjs as unknown as { module: unknown }).module) };
}
