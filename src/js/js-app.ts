// The JavaScript application of a node: the installed app read from the KV (modules and endpoint
// table, cached per app version key) and its interpreters, with CCF's isolation: a request runs in
// a fresh interpreter, reset when it ends (to the image taken once the app's modules were compiled),
// so it sees nothing an earlier one left; only endpoints with `interpreter_reuse` share an
// interpreter, one per key and access (read-write or not), kept in an LRU of `interpreters`. All are
// dropped when the app version changes. The caller names the version (e.g. the seqno of the last
// `set_js_app`). `invoke` is synchronous, so a request runs to completion in one transaction.

import { RSA_DEFAULT_EXPONENT, RSA_PREPARED_BITS } from './ccf-crypto.js';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { readAppFromKv, type AppDefinition } from './app-bundle.js';
import { dispatchEndpoint, type AppResponse } from './app-dispatch.js';
import { endpointPath, type AppRequest } from './app-request.js';
import { EndpointTable, isEndpointMatch } from './endpoint-table.js';
import { JsInterpreter, type JsGlobalInstaller, type JsInterpreterOptions, type JsMemoryUsage } from './interpreter.js';
import type { HistoricalStateInput, JsHost } from './js-host.js';
import { checkJsLimits, DEFAULT_JS_LIMITS, type JsLimits } from './js-limits.js';

export interface JsAppOptions {
  limits?: Partial<JsLimits>;
  /** How many interpreters of `interpreter_reuse` keys to keep loaded; CCF's max_cached_interpreters. */
  interpreters?: number;
  installers?: readonly JsGlobalInstaller[];
  /** Makes each interpreter: JsInterpreter.create unless given (a test's stand-in that fails). */
  createInterpreter?: InterpreterFactory;
}

export type InterpreterFactory = (options: JsInterpreterOptions) => Promise<JsInterpreter>;

export interface InvokeOptions {
  /** The state of the requested transaction, for endpoints of mode "historical". */
  historicalState?: HistoricalStateInput;
  /** Governance's `log_exception_details`: log lines about the request may carry an exception's message and trace. */
  logExceptionDetails?: boolean;
}

/** CCF's default max_cached_interpreters. */
export const JS_APP_INTERPRETERS_DEFAULT = 10;
export const JS_APP_INTERPRETERS_MAX = 16;
/** App versions whose definitions (modules and endpoint table) stay cached. */
export const JS_APP_VERSIONS_CACHED_MAX = 8;

/** What the slot for requests without `interpreter_reuse` holds (reuse keys end with " (rw)" or " (ro)"). */
const FRESH = '<fresh>';

/** Failures after which a kept interpreter's state is suspect: it is loaded afresh before its next use. */
const RELOAD_AFTER = new Set(['JsExecutionTimeout', 'JsOutOfMemory', 'JsStackOverflow', 'JsModuleError', 'JsInterpreterBroken']);

interface LoadedApp {
  definition: AppDefinition;
  table: EndpointTable;
  /** Whether a module names generateRsaKeyPair and the node has yet to be asked to make pairs ahead. */
  makesRsaKeyPairs: boolean;
}

interface Slot {
  interpreter: JsInterpreter;
  /** The reuse key (of `#cachedVersion`) whose interpreter this is, or FRESH; undefined when it holds none. */
  holds: string | undefined;
  lastUsed: number;
  /** A replacement being created for an interpreter that broke. */
  replacement?: Promise<void>;
  replacementError?: unknown;
}

export class JsApp {
  readonly #limits: JsLimits;
  readonly #installers: readonly JsGlobalInstaller[];
  readonly #createInterpreter: InterpreterFactory;
  /** One interpreter per kept reuse key, and one more for requests that run afresh (FRESH). */
  readonly #slots: Slot[];
  readonly #cachedMax: number;
  /** The app version of the kept interpreters: a request of another version drops them all, as CCF does. */
  #cachedVersion: string | undefined;
  /** Insertion-ordered: the first entry is the least recently used. */
  readonly #apps = new Map<string, LoadedApp>();
  #uses = 0;

  private constructor(limits: JsLimits, installers: readonly JsGlobalInstaller[], createInterpreter: InterpreterFactory, interpreters: JsInterpreter[]) {
    this.#limits = limits;
    this.#installers = installers;
    this.#createInterpreter = createInterpreter;
    this.#slots = interpreters.map((interpreter) => ({ interpreter, holds: undefined, lastUsed: 0 }));
    this.#cachedMax = interpreters.length - 1;
  }

  static async create(options: JsAppOptions = {}): Promise<JsApp> {
    const count = options.interpreters ?? JS_APP_INTERPRETERS_DEFAULT;
    if (!Number.isInteger(count) || count < 1 || count > JS_APP_INTERPRETERS_MAX) {
      throw new CocoError('InvalidArgument', `a JsApp keeps 1 to ${JS_APP_INTERPRETERS_MAX} interpreters, got ${count}`);
    }
    const limits = checkJsLimits({ ...DEFAULT_JS_LIMITS, ...options.limits });
    const installers = options.installers ?? [];
    const createInterpreter: InterpreterFactory = options.createInterpreter ?? ((interpreterOptions) => JsInterpreter.create(interpreterOptions));
    // Each interpreter is its own QuickJS instance, created ahead because `invoke` cannot wait.
    const created = await Promise.allSettled(Array.from({ length: count + 1 }, () => createInterpreter({ limits, installers })));
    const interpreters = created.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failed = created.find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      // All or none: those made are disposed, so that nothing of a failed creation is left running.
      for (const interpreter of interpreters) interpreter.dispose();
      const cause: unknown = failed.reason;
      throw new CocoError('JsUnavailable', `the app's ${count + 1} interpreters could not be created (${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}); retry shortly`, { cause });
    }
    return new JsApp(limits, installers, createInterpreter, interpreters);
  }

  /** The endpoint table of app version `versionKey`, read from `tx` on first use. */
  endpoints(versionKey: string, tx: Transaction): EndpointTable {
    return this.#app(versionKey, tx).table;
  }

  /**
   * Runs the endpoint `request` names, inside `tx`. Throws ResourceNotFound / MethodNotAllowed
   * when no endpoint matches, and the interpreter's CocoErrors when the function fails.
   */
  invoke(versionKey: string, request: AppRequest, tx: Transaction, host: JsHost, options: InvokeOptions = {}): AppResponse {
    const app = this.#app(versionKey, tx);
    // Pairs take 30-300 ms each (2048 bits): made from the app's first request on, the app's first
    // generateRsaKeyPair rarely finds none ready (QA: CCF's npm test app failed its first call).
    if (app.makesRsaKeyPairs) {
      host.rsaKeyPairs?.prepare(RSA_PREPARED_BITS, RSA_DEFAULT_EXPONENT);
      app.makesRsaKeyPairs = false;
    }
    const path = endpointPath(request);
    const found = path === undefined ? undefined : app.table.match(request.method, path);
    if (found === undefined) throw new CocoError('ResourceNotFound', `Unknown path: ${request.path}`);
    if (!isEndpointMatch(found)) {
      throw new CocoError('MethodNotAllowed', `${request.method} is not allowed on ${request.path}; allowed: ${found.allowedMethods.join(', ')}`);
    }
    const reuse = found.info.interpreter_reuse;
    // As CCF keys them: read-write and other endpoints of one key get interpreters of their own.
    const reuseKey = reuse === undefined ? undefined : `${reuse.key} (${found.info.mode === 'readwrite' ? 'rw' : 'ro'})`;
    const slot = this.#slotFor(versionKey, reuseKey, app);
    try {
      return dispatchEndpoint(slot.interpreter, found, request, { host, tx, historicalState: options.historicalState, logExceptionDetails: options.logExceptionDetails });
    } catch (error) {
      // The fresh slot's reset below undoes the failure as well.
      if (error instanceof CocoError && RELOAD_AFTER.has(error.code) && slot.holds !== FRESH) this.#unload(slot);
      if (!slot.interpreter.isUsable) this.#replace(slot);
      throw error;
    } finally {
      if (slot.holds === FRESH && slot.interpreter.isUsable) slot.interpreter.reset();
      // A kept interpreter whose heap the host found full (even if JS caught the error) starts again.
      else if (slot.holds !== undefined && slot.interpreter.hostHeapExhausted) this.#unload(slot);
    }
  }

  /** Memory of each interpreter holding an app version (for metrics). */
  memoryUsage(): JsMemoryUsage[] {
    return this.#slots.filter((slot) => slot.interpreter.isUsable && slot.interpreter.isLoaded).map((slot) => slot.interpreter.memoryUsage());
  }

  /** Resolves once interpreters that broke have been replaced. */
  async repair(): Promise<void> {
    for (const slot of this.#slots) if (!slot.interpreter.isUsable && slot.replacement === undefined) this.#replace(slot);
    await Promise.all(this.#slots.map((slot) => slot.replacement));
  }

  dispose(): void {
    for (const slot of this.#slots) slot.interpreter.dispose();
    this.#apps.clear();
  }

  #app(versionKey: string, tx: Transaction): LoadedApp {
    let app = this.#apps.get(versionKey);
    if (app !== undefined) {
      this.#apps.delete(versionKey);
    } else {
      const definition = readAppFromKv(tx);
      app = { definition, table: new EndpointTable(definition.endpoints), makesRsaKeyPairs: [...definition.modules.values()].some((source) => source.includes('generateRsaKeyPair')) };
    }
    this.#apps.set(versionKey, app);
    for (const key of this.#apps.keys()) {
      if (this.#apps.size <= JS_APP_VERSIONS_CACHED_MAX) break;
      this.#apps.delete(key);
    }
    return app;
  }

  /**
   * The interpreter kept for `reuseKey` (FRESH without one), or one loaded now: an empty one, else
   * (or when as many keys as allowed are kept) the one of the least recently used key.
   */
  #slotFor(versionKey: string, reuseKey: string | undefined, app: LoadedApp): Slot {
    if (versionKey !== this.#cachedVersion) {
      for (const slot of this.#slots) this.#unload(slot);
      this.#cachedVersion = versionKey;
    }
    const holds = reuseKey ?? FRESH;
    const usable = this.#slots.filter((slot) => slot.interpreter.isUsable);
    let slot = usable.find((candidate) => candidate.holds === holds);
    if (slot === undefined) {
      const kept = usable.filter((candidate) => candidate.holds !== undefined && candidate.holds !== FRESH);
      const empty = reuseKey !== undefined && kept.length >= this.#cachedMax ? undefined : usable.find((candidate) => candidate.holds === undefined);
      slot = empty ?? kept.reduce<Slot | undefined>((oldest, candidate) => (oldest === undefined || candidate.lastUsed < oldest.lastUsed ? candidate : oldest), undefined);
      if (slot === undefined) {
        const cause = this.#slots.find((candidate) => candidate.replacementError !== undefined)?.replacementError;
        throw new CocoError('JsUnavailable', 'every interpreter of the app failed and is being replaced: retry in a second', { cause });
      }
      this.#unload(slot);
      // The fresh slot compiles the app once, and is reset to that after each request.
      slot.interpreter.load(app.definition.modules, { resettable: holds === FRESH });
      slot.holds = holds;
    }
    slot.lastUsed = ++this.#uses;
    return slot;
  }

  /** Frees what the slot's interpreter holds: its modules, and all state calls left in it. */
  #unload(slot: Slot): void {
    slot.interpreter.unload();
    slot.holds = undefined;
  }

  #replace(slot: Slot): void {
    if (slot.replacement !== undefined) return;
    slot.replacementError = undefined;
    slot.replacement = this.#createInterpreter({ limits: this.#limits, installers: this.#installers }).then(
      (interpreter) => {
        slot.interpreter.dispose();
        slot.interpreter = interpreter;
        slot.holds = undefined;
        slot.replacement = undefined;
      },
      (error: unknown) => {
        slot.replacementError = error;
        slot.replacement = undefined;
      },
    );
  }
}
