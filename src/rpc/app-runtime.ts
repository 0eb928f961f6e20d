// The JavaScript application's runtime under the options governance sets (`set_js_runtime_options`
// in `public:ccf.gov.js_runtime_options`): heap, stack and time limits, the number of cached
// interpreters, and whether exception details are logged or returned. When the options change, a
// JsApp with the new limits is created before the next request runs, so they apply at once; one
// whose creation failed (short of memory) is not kept, and the next request tries again. A
// stored value the runtime cannot grant is held at the nearest it can, and the node logs a warning
// naming both values and why, once per change of the options.

import { decodeJson, SINGLETON, Tables } from '../governance/builtin-tables.js';
import { JsApp, JS_APP_INTERPRETERS_DEFAULT, JS_APP_INTERPRETERS_MAX, type JsAppOptions } from '../js/js-app.js';
import { DEFAULT_JS_LIMITS, JS_EXECUTION_TIME_MS_MAX, JS_HEAP_BYTES_MAX, JS_HEAP_BYTES_MIN, JS_STACK_BYTES_MIN, QUICKJS_STACK_BYTES_MAX, type JsLimits } from '../js/js-limits.js';
import { isWasmReservationFailure, WASM_ADDRESS_SPACE_REMEDY } from '../js/wasm-address-space.js';
import type { Transaction } from '../kv/transaction.js';
import type { LogLevel } from '../node/buffered-log.js';

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

/** What a stored option is held to, and why (said in the warning that names it). */
interface Bound {
  min: number;
  max: number;
  belowMin: string;
  aboveMax: string;
}

/**
 * The settings governance chose, within what this runtime can grant, and a note for each stored
 * option it applies otherwise. A handler runs on the node's event loop, so it may not run longer
 * than `executionTimeCapMs` (half the election timeout), or a looping handler would stall the
 * primary until the other nodes elect a new one.
 */
function readRuntimeSettings(tx: Transaction, executionTimeCapMs: number): { settings: AppRuntimeSettings; held: string[] } {
  const stored = tx.map(Tables.jsRuntimeOptions).get(SINGLETON);
  const options = stored === undefined ? {} : decodeJson<JsRuntimeOptions>(stored, Tables.jsRuntimeOptions);
  const held: string[] = [];
  const apply = (name: keyof JsRuntimeOptions, value: number | undefined, fallback: number, bound: Bound): number => {
    const applied = Math.min(bound.max, Math.max(bound.min, value ?? fallback));
    if (value !== undefined && applied !== value) held.push(`${name} ${value} as ${applied} (${applied === bound.max ? bound.aboveMax : bound.belowMin})`);
    return applied;
  };
  const timeCapMs = Math.min(JS_EXECUTION_TIME_MS_MAX, executionTimeCapMs);
  const settings = {
    limits: {
      maxHeapBytes: apply('max_heap_bytes', options.max_heap_bytes, DEFAULT_JS_LIMITS.maxHeapBytes, {
        min: JS_HEAP_BYTES_MIN,
        max: JS_HEAP_BYTES_MAX,
        belowMin: 'the ccf global and a small app need more',
        aboveMax: 'QuickJS runs in 32-bit WebAssembly',
      }),
      // The interpreter caps its stack (QUICKJS_STACK_BYTES_MAX): the settings say what it enforces.
      maxStackBytes: apply('max_stack_bytes', options.max_stack_bytes, DEFAULT_JS_LIMITS.maxStackBytes, {
        min: JS_STACK_BYTES_MIN,
        max: QUICKJS_STACK_BYTES_MAX,
        belowMin: 'QuickJS cannot set up the ccf global with less',
        aboveMax: "QuickJS's WebAssembly frames share Node's own stack, which a deeper one would overflow",
      }),
      maxExecutionTimeMs: apply('max_execution_time_ms', options.max_execution_time_ms, DEFAULT_JS_LIMITS.maxExecutionTimeMs, {
        min: 1,
        max: timeCapMs,
        belowMin: 'a call needs at least 1 ms',
        aboveMax:
          timeCapMs < JS_EXECUTION_TIME_MS_MAX
            ? "a handler runs on the node's event loop, and one holding it past half of consensus.election_timeout_ms would let the backups elect another primary; raise the election timeout to allow longer handlers"
            : `no call runs longer than ${JS_EXECUTION_TIME_MS_MAX} ms here`,
      }),
    },
    // 0, as unset, means CCF's default.
    interpreters: apply('max_cached_interpreters', options.max_cached_interpreters || undefined, JS_APP_INTERPRETERS_DEFAULT, {
      min: 1,
      max: JS_APP_INTERPRETERS_MAX,
      belowMin: 'at least one is kept',
      aboveMax: `at most ${JS_APP_INTERPRETERS_MAX} are kept`,
    }),
    logExceptionDetails: options.log_exception_details === true,
    returnExceptionDetails: options.return_exception_details === true,
  };
  return { settings, held };
}

export class AppRuntime {
  /**
   * `executionTimeCapMs`: the longest any handler may run, whatever governance sets (see
   * readRuntimeSettings). `log` is told once per change of the options when some stored value is
   * not the one applied, and when the app's interpreters cannot be created, then created again.
   * `createApp` makes each JsApp (JsApp.create unless given: a test's stand-in that fails).
   */
  constructor(
    private readonly executionTimeCapMs: number = JS_EXECUTION_TIME_MS_MAX,
    private readonly log: (level: LogLevel, line: string) => void = () => {},
    private readonly createApp: (options: JsAppOptions) => Promise<JsApp> = (options) => JsApp.create(options),
  ) {}

  private current: { key: string; settings: AppRuntimeSettings; app: JsApp } | undefined;
  private pending: { key: string; app: Promise<JsApp> } | undefined;
  /** Creations failed since the last one that succeeded: the first is logged, and the success after them. */
  private failedCreations = 0;
  /** Settings as last read, by the version of the options they were read at: parsed once per change. */
  private settings: { version: bigint | undefined; value: AppRuntimeSettings } | undefined;

  settingsFor(tx: Transaction): AppRuntimeSettings {
    const version = tx.map(Tables.jsRuntimeOptions).getVersionOfPreviousWrite(SINGLETON);
    if (this.settings === undefined || this.settings.version !== version) {
      const { settings, held } = readRuntimeSettings(tx, this.executionTimeCapMs);
      this.settings = { version, value: settings };
      if (held.length > 0) this.log('warn', `js_runtime_options: this node applies ${held.join('; ')}; GET /node/js_metrics shows the values in force`);
    }
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
    if (this.pending?.key !== key) this.pending = { key, app: this.createApp({ limits: settings.limits, interpreters: settings.interpreters }) };
    const pending = this.pending;
    let app: JsApp;
    try {
      app = await pending.app;
    } catch (error) {
      // Forgotten, so that the next request tries again: what this creation lacked (memory, address
      // space) may be there by then. Requests that waited for it too share its failure.
      if (this.pending === pending) {
        this.pending = undefined;
        this.creationFailed(error);
      }
      throw error;
    }
    if (this.failedCreations > 0) {
      this.log('info', `js: the app's interpreters were created after ${this.failedCreations} failed attempts; app requests are served again`);
      this.failedCreations = 0;
    }
    if (this.current?.key !== key) {
      // Requests already holding the old app may still run it: free it a little later.
      const previous = this.current?.app;
      if (previous !== undefined) setTimeout(() => previous.dispose(), RETIRED_APP_GRACE_MS).unref();
      this.current = { key, settings, app };
      if (this.pending === pending) this.pending = undefined;
    }
    return this.current.app;
  }

  /** Says the first failure of a run of them: each request tries again, and would log it again. */
  private creationFailed(error: unknown): void {
    this.failedCreations += 1;
    if (this.failedCreations > 1) return;
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    const remedy = isWasmReservationFailure(cause) ? `; ${WASM_ADDRESS_SPACE_REMEDY}` : '';
    this.log('error', `js: the app's interpreters could not be created (${reason}): app requests are answered 503 JsUnavailable, each trying again${remedy}`);
  }

  dispose(): void {
    this.current?.app.dispose();
    this.current = undefined;
  }
}
