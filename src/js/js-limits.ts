// Runtime limits of one JavaScript interpreter, with CCF's defaults (`set_js_runtime_options`):
// heap, stack and execution time. Every interpreter checks its limits once, at creation, so a
// running call never meets a limit that makes no sense.

import { CocoError } from '../errors.js';

export interface JsLimits {
  /** Most bytes the interpreter's heap may hold. */
  maxHeapBytes: number;
  /** Most bytes of interpreter stack; capped at QUICKJS_STACK_BYTES_MAX (see there). */
  maxStackBytes: number;
  /** Longest one call may run (module evaluation included), by the host's monotonic clock. */
  maxExecutionTimeMs: number;
}

export const DEFAULT_JS_LIMITS: Readonly<JsLimits> = Object.freeze({
  maxHeapBytes: 100 * 1024 * 1024,
  maxStackBytes: 1024 * 1024,
  maxExecutionTimeMs: 5000,
});

/** Smallest heap an interpreter can start with: the `ccf` global and a small app need about 1 MiB. */
export const JS_HEAP_BYTES_MIN = 4 * 1024 * 1024;
/** Largest heap: QuickJS runs in 32-bit WebAssembly whose memory the build caps at 2 GiB. */
export const JS_HEAP_BYTES_MAX = 1024 * 1024 * 1024;
/**
 * Deepest QuickJS stack actually granted. QuickJS runs in WebAssembly, whose frames also use
 * Node's own native stack (about 1 MiB): past about 400 KiB of QuickJS stack Node's stack
 * overflows first, and a QuickJS runtime interrupted that way cannot be used or freed again.
 * 256 KiB leaves Node room for its callers and still allows over a thousand nested JS calls.
 */
export const QUICKJS_STACK_BYTES_MAX = 256 * 1024;
/** Smallest stack: below this QuickJS cannot even run the `ccf` global's setup. */
export const JS_STACK_BYTES_MIN = 64 * 1024;
/** Longest execution time one call may be granted: one minute. */
export const JS_EXECUTION_TIME_MS_MAX = 60_000;

/** Checks `limits` and returns them; CocoError 'InvalidJsLimits' names the first bad field. */
export function checkJsLimits(limits: JsLimits): JsLimits {
  checkRange('maxHeapBytes', limits.maxHeapBytes, JS_HEAP_BYTES_MIN, JS_HEAP_BYTES_MAX);
  checkRange('maxStackBytes', limits.maxStackBytes, JS_STACK_BYTES_MIN, Number.MAX_SAFE_INTEGER);
  checkRange('maxExecutionTimeMs', limits.maxExecutionTimeMs, 1, JS_EXECUTION_TIME_MS_MAX);
  return limits;
}

function checkRange(name: keyof JsLimits, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CocoError('InvalidJsLimits', `JS limit ${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}
