// The JavaScript application's runtime under the options governance sets (`set_js_runtime_options`
// in `public:ccf.gov.js_runtime_options`): heap, stack and time limits, the number of cached
// interpreters, and whether exception details are logged or returned. When the options change, a
// JsApp with the new limits is created before the next request runs, so they apply at once.

import { decodeJson, SINGLETON, Tables } from '../governance/builtin-tables.js';
import { JsApp, JS_APP_INTERPRETERS_DEFAULT, JS_APP_INTERPRETERS_MAX } from '../js/js-app.js';
import { DEFAULT_JS_LIMITS, JS_EXECUTION_TIME_MS_MAX, JS_HEAP_BYTES_MAX, JS_HEAP_BYTES_MIN, JS_STACK_BYTES_MIN, QUICKJS_STACK_BYTES_MAX, type JsLimits } from '../js/js-limits.js';
import type { Transaction } from '../kv/transaction.js';

/** CCF's `js_runtime_options` value. */
export interface JsRuntimeOptions {
  max_heap_bytes?: number;
  max_stack_bytes?: number;
  max_execution_time_ms?: number;
  log_exception_details?: boolean;
  return_exception_details?: boolean;
  max_cached_interpreters?: number;
}

export interface AppRuntimeSettings {
  limits: JsLimits;
  interpreters: number;
  logExceptionDetails: boolean;
  returnExceptionDetails: boolean;
}

/** How long a replaced JsApp stays usable for requests that obtained it before the change. */
const RETIRED_APP_GRACE_MS = 1_000;

const clamp = (value: number | undefined, fallback: number, min: number, max: number) => Math.min(max, Math.max(min, value ?? fallback));

/**
 * The settings governance chose, within what this runtime can grant: a handler runs on the node's
 * event loop, so it may not run longer than `executionTimeCapMs` (half the election timeout), or a
 * looping handler would stall the primary until the other nodes elect a new one.
 */
function readRuntimeSettings(tx: Transaction, executionTimeCapMs: number): AppRuntimeSettings {
  const stored = tx.map(Tables.jsRuntimeOptions).get(SINGLETON);
  const options = stored === undefined ? {} : decodeJson<JsRuntimeOptions>(stored, Tables.jsRuntimeOptions);
  return {
    limits: {
      maxHeapBytes: clamp(options.max_heap_bytes, DEFAULT_JS_LIMITS.maxHeapBytes, JS_HEAP_BYTES_MIN, JS_HEAP_BYTES_MAX),
      // The interpreter caps its stack (QUICKJS_STACK_BYTES_MAX): the settings say what it enforces.
      maxStackBytes: clamp(options.max_stack_bytes, DEFAULT_JS_LIMITS.maxStackBytes, JS_STACK_BYTES_MIN, QUICKJS_STACK_BYTES_MAX),
      maxExecutionTimeMs: clamp(options.max_execution_time_ms, DEFAULT_JS_LIMITS.maxExecutionTimeMs, 1, Math.min(JS_EXECUTION_TIME_MS_MAX, executionTimeCapMs)),
    },
    interpreters: clamp(options.max_cached_interpreters || undefined, JS_APP_INTERPRETERS_DEFAULT, 1, JS_APP_INTERPRETERS_MAX),
    logExceptionDetails: options.log_exception_details === true,
    returnExceptionDetails: options.return_exception_details === true,
  };
}

export class AppRuntime {
  /** `executionTimeCapMs`: the longest any handler may run, whatever governance sets (see readRuntimeSettings). */
  constructor(private readonly executionTimeCapMs: number = JS_EXECUTION_TIME_MS_MAX) {}

  private current: { key: string; settings: AppRuntimeSettings; app: JsApp } | undefined;
  private pending: { key: string; app: Promise<JsApp> } | undefined;
  /** Settings as last read, by the version of the options they were read at: parsed once per change. */
  private settings: { version: bigint | undefined; value: AppRuntimeSettings } | undefined;

  settingsFor(tx: Transaction): AppRuntimeSettings {
    const version = tx.map(Tables.jsRuntimeOptions).getVersionOfPreviousWrite(SINGLETON);
    if (this.settings === undefined || this.settings.version !== version) this.settings = { version, value: readRuntimeSettings(tx, this.executionTimeCapMs) };
    return this.settings.value;
  }

  /** The JsApp for these settings, created (and the previous one disposed) if they changed. */
  async appFor(settings: AppRuntimeSettings): Promise<JsApp> {
    // The same settings object while the options are unchanged (settingsFor): no key to build.
    if (this.current?.settings === settings) return this.current.app;
    const key = JSON.stringify([settings.limits, settings.interpreters]);
    if (this.current?.key === key) {
      this.current.settings = settings;
      return this.current.app;
    }
    if (this.pending?.key !== key) this.pending = { key, app: JsApp.create({ limits: settings.limits, interpreters: settings.interpreters }) };
    const pending = this.pending;
    const app = await pending.app;
    if (this.current?.key !== key) {
      // Requests already holding the old app may still run it: free it a little later.
      const previous = this.current?.app;
      if (previous !== undefined) setTimeout(() => previous.dispose(), RETIRED_APP_GRACE_MS).unref();
      this.current = { key, settings, app };
      if (this.pending === pending) this.pending = undefined;
    }
    return this.current.app;
  }

  dispose(): void {
    this.current?.app.dispose();
    this.current = undefined;
  }
}
