// Why a WebAssembly instance (a QuickJS interpreter, the Keccak hasher) can fail to be created long
// before memory runs out: V8 reserves about 10 GB of virtual address space for each WebAssembly
// memory (guard regions that let it skip bounds checks), so an address-space limit (RLIMIT_AS,
// `ulimit -v`) of tens of GB is used up by reservations, not by memory. This names that failure and
// what to do instead.

/** What to do, for the line that reports such a failure (a node holds some twenty such memories: docs/node-config.md). */
export const WASM_ADDRESS_SPACE_REMEDY =
  'each WebAssembly memory (a QuickJS interpreter, the Keccak hasher) reserves about 10 GB of virtual address space, so an address-space limit ' +
  "(ulimit -v, RLIMIT_AS) stops the node long before its memory runs out: remove it and bound the node's memory with a cgroup " +
  "(systemd's MemoryMax=, docker --memory), or run node (20.15 or later) with --disable-wasm-trap-handler (in NODE_OPTIONS), which reserves only what each memory may grow to, at some cost in speed";

/** Whether `error` is V8 refusing a WebAssembly memory (or an instance that needs one) for want of address space. */
export function isWasmReservationFailure(error: unknown): boolean {
  return error instanceof RangeError && /^WebAssembly\.\w+\(\): .*memory/i.test(error.message);
}
