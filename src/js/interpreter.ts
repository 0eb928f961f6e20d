// One JavaScript interpreter: a QuickJS runtime and context in their own WebAssembly instance, with
// CCF's limits (heap, stack, execution time through the interrupt handler and the host's monotonic
// clock), the `ccf` global, and a set of ES modules loaded lazily by name. Calls run one at a time;
// an exception, timeout or memory exhaustion ends the call with a CocoError and leaves the
// interpreter usable. `load` puts the interpreter back as it was right after the `ccf` global was
// installed (new modules, no old state) from an image of its memory, and `reset` back to where
// `load` left it, so that a request can run in a fresh interpreter without building one.

import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import { CocoError, invariant } from '../errors.js';
import { fromUtf8, isValidUtf8, toHex } from '../crypto/bytes.js';
import { randomBytes } from '../crypto/random.js';
import type { EndpointRequest } from './app-request.js';
import type { CallEnv } from './call-env.js';
import {
  defineHostFunction,
  installCcfGlobals,
  readEndpointResult,
  STATE_RANGE_FAILURE,
  type ActiveCall,
  type CcfGlobals,
  type DispatchOutcome,
  type EndpointResult,
  type GlobalsSession,
  type PreludeApi,
} from './ccf-globals.js';
import { JS_TIMEOUT_MESSAGE, JsExceptionError, type JsErrorDetails } from './js-exception.js';
import { checkJsLimits, DEFAULT_JS_LIMITS, QUICKJS_STACK_BYTES_MAX, type JsLimits } from './js-limits.js';
import { encodeJsValue, type JsValue } from './js-value.js';
import { LinearMemoryImage } from './linear-memory-image.js';
import { isPackageSpecifier, resolveModuleName } from './module-names.js';
import { GuestError, QuickJsBridge } from './quickjs-bridge.js';
import type { HostHeap } from './host-heap.js';
import type { JsHost } from './js-host.js';
import { newQuickJsInstance, type QuickJsInstance } from './quickjs-instance.js';

/** Builds a call's arguments directly; the interpreter disposes the handles after the call. */
export type ArgsBuilder = (vm: QuickJSContext) => QuickJSHandle[];

/** What an extra global installer (e.g. governance's `ccf.node`) gets to work with. */
export interface JsGlobalScope {
  readonly vm: QuickJSContext;
  /** The `ccf` global object; borrowed, valid while the installer runs. */
  readonly ccf: QuickJSHandle;
  /** The env of the running call; inside a host function only. */
  currentEnv(): CallEnv;
  /**
   * Defines `target[name]` as a function that runs `impl` with the running call's env and its
   * arguments as JsValues; `impl`'s result (a JsValue) is what JS gets back, its exceptions are
   * thrown in JS.
   */
  defineFunction(target: QuickJSHandle, name: string, impl: (env: CallEnv, args: (JsValue | undefined)[]) => JsValue | undefined): void;
}

/** Adds globals to every fresh context, after `ccf` and before any app module. */
export type JsGlobalInstaller = (scope: JsGlobalScope) => void;

export interface JsInterpreterOptions {
  limits?: Partial<JsLimits>;
  /** Which `ccf` global to install: an app's (the default) or governance's. */
  globals?: CcfGlobals;
  installers?: readonly JsGlobalInstaller[];
  /** Modules to load at once (see `load`). */
  modules?: ReadonlyMap<string, string>;
}

export interface JsLoadOptions {
  /**
   * Compiles every module now and keeps an image of the interpreter, for `reset` to return to
   * after each call (a module that does not compile is then compiled, and fails, at each use).
   */
  resettable?: boolean;
}

export interface JsMemoryUsage {
  /** Bytes QuickJS accounts to what its objects reach (objects, their strings, shapes, code). */
  heapBytes: number;
  /**
   * Live allocations in the QuickJS heap, values the host holds included (which heapBytes, a walk
   * of the objects, does not see): a count that keeps growing is a leak.
   */
  allocations: number;
  /** Size of the WebAssembly memory the interpreter's instance has grown to. */
  linearMemoryBytes: number;
}

/** The globals a sandbox installs: which `ccf`, and the extra installers after it. */
interface SandboxGlobals {
  ccf: CcfGlobals;
  installers: readonly JsGlobalInstaller[];
}

/** The promise rejections nothing in one request handled: how many, and the first of them. */
interface UnhandledRejections {
  count: number;
  first: JsErrorDetails[];
}

/**
 * One log line per unhandled rejection (the first few), so that a promise chain a handler left
 * behind does not fail unseen: its effects after the failure are lost, and the request knows
 * nothing of it. The reason and trace only with log_exception_details, as CCF logs exceptions.
 */
function logUnhandledRejections(host: JsHost, request: EndpointRequest, unhandled: UnhandledRejections, withDetails: boolean): void {
  const where = `${request.method} ${request.route}`;
  for (const details of unhandled.first) {
    const reason = details.name === '' ? details.message : `${details.name}: ${details.message}`;
    const shown = withDetails ? `: ${reason}${details.stack === undefined ? '' : `\n${details.stack}`}` : ' (log_exception_details logs its reason)';
    host.log('error', `[js] ${where}: unhandled promise rejection, the promise chain stopped there${shown}`);
  }
  const more = unhandled.count - unhandled.first.length;
  if (more > 0) host.log('error', `[js] ${where}: ${more} more unhandled promise rejections`);
}

/** Length of the random marker that tags byte buffers in JSON crossing the sandbox boundary. */
const MARKER_BYTES = 16;
/** A valid UTF-8 request body up to this size travels with the request: no host call to read it. */
const INLINE_BODY_BYTES_MAX = 64 * 1024;
/** Strings kept in a sandbox for calls to share (see Sandbox.sharedString), and the longest kept. */
const SHARED_STRINGS_MAX = 64;
const SHARED_STRING_CHARS_MAX = 2048;
/** A module no app can name (app names start with "/") that throws, for `compileModules`. */
const COMPILE_STOP_MODULE = '<coco:compile-stop>';
const COMPILE_STOP_MESSAGE = 'coco: compiled, not evaluated';

export class JsInterpreter {
  readonly limits: Readonly<JsLimits>;
  readonly #instance: QuickJsInstance;
  readonly #globals: SandboxGlobals;
  #sandbox: Sandbox | undefined;
  /** Set once a Node exception unwound QuickJS mid-call: nothing may run in it again. */
  #broken: CocoError | undefined;
  #calls = 0;

  private constructor(instance: QuickJsInstance, limits: JsLimits, globals: SandboxGlobals) {
    this.#instance = instance;
    this.limits = Object.freeze({ ...limits });
    this.#globals = globals;
  }

  /** A new interpreter in its own QuickJS instance (a few ms: compiles and instantiates QuickJS). */
  static async create(options: JsInterpreterOptions = {}): Promise<JsInterpreter> {
    const limits = checkJsLimits({ ...DEFAULT_JS_LIMITS, ...options.limits });
    const globals = { ccf: options.globals ?? 'application', installers: options.installers ?? [] };
    const interpreter = new JsInterpreter(await newQuickJsInstance(limits.maxHeapBytes), limits, globals);
    if (options.modules !== undefined) interpreter.load(options.modules);
    return interpreter;
  }

  /**
   * Gives the interpreter `modules` (name -> source, names absolute like "/endpoints/all.js") and
   * no state of any earlier call: as new as a new runtime and context. Modules evaluate on first
   * use, within the call that loads them (its KV transaction included, as in CCF).
   */
  load(modules: ReadonlyMap<string, string>, options: JsLoadOptions = {}): void {
    this.#assertUsable();
    for (const name of modules.keys()) {
      if (!name.startsWith('/')) throw new CocoError('JsModuleError', `module name "${name}" must be absolute, like "/${name}"`);
    }
    if (this.#sandbox === undefined) {
      this.#sandbox = new Sandbox(this.#instance, this.limits, this.#globals, (cause) => this.#markBroken(cause));
    } else {
      this.#sandbox.rewind();
    }
    this.#sandbox.useModules(new Map(modules), options.resettable === true);
  }

  /**
   * Puts a `resettable` interpreter back as `load` left it, undoing everything calls did since
   * (their globals, module state, objects, memory), in the time of a copy of the memory in use.
   */
  reset(): void {
    this.#loadedSandbox().reset();
  }

  get isLoaded(): boolean {
    return this.#sandbox?.loaded === true;
  }

  /** False once QuickJS was left in an unknown state (see JsInterpreterBroken): create a new one. */
  get isUsable(): boolean {
    return this.#broken === undefined;
  }

  /**
   * Whether a value the host passed in found the heap full (JsOutOfMemory): load or reset the
   * interpreter before its next call, so that the host has its reserve again.
   */
  get hostHeapExhausted(): boolean {
    return this.#instance.hostHeap.exhausted;
  }

  /** Whether the app called `ccf.enableMetricsLogging(false)` (CCF's default is on). */
  get metricsLoggingEnabled(): boolean {
    return this.#loadedSandbox().metricsLogging;
  }

  /**
   * Calls export `exportName` of module `moduleName` with `args` (JsValues, or handles from a
   * builder) and returns its result as a JsValue (undefined for undefined).
   */
  call(moduleName: string, exportName: string, args: readonly JsValue[] | ArgsBuilder, env: CallEnv): JsValue | undefined {
    return this.#call(moduleName, exportName, args, env, 'value');
  }

  /**
   * Calls export `exportName` like `call`, and returns its result as the text CCF reads from a JS
   * value (JS_ToCString: its ToString, '' where that throws, up to a NUL), converted in JS within
   * the call and its time limit, as CCF reads the state `resolve` returns.
   */
  callForText(moduleName: string, exportName: string, args: readonly JsValue[], env: CallEnv): string {
    const text = this.#call(moduleName, exportName, args, env, 'text');
    invariant(typeof text === 'string', 'callExportForText returns a string');
    return text;
  }

  #call(moduleName: string, exportName: string, args: readonly JsValue[] | ArgsBuilder, env: CallEnv, resultAs: 'value' | 'text'): JsValue | undefined {
    return this.#run(env, moduleName, exportName, (sandbox, fn) => {
      const vm = sandbox.vm;
      // Handles made for this call, freed even when making a later one fails.
      const handles: QuickJSHandle[] = [];
      try {
        let entry = sandbox.api.callExportWith;
        if (typeof args === 'function') {
          invariant(resultAs === 'value', 'a call for text takes its arguments as values');
          // The host's work of making the arguments is not the script's: a short limit is for what the script does.
          handles.push(...sandbox.beforeTimeLimit(() => args(vm)));
        } else {
          const { json, buffers } = encodeJsValue(args, sandbox.bridge.marker);
          entry = resultAs === 'text' ? sandbox.api.callExportForText : sandbox.api.callExport;
          handles.push(vm.newString(json));
          for (const buffer of buffers) handles.push(sandbox.bridge.newBytes(buffer));
        }
        const result = sandbox.callFunction(entry, [fn, ...handles]);
        try {
          return sandbox.bridge.readEncoded(result);
        } finally {
          result.dispose();
        }
      } finally {
        for (const handle of handles) if (handle.alive) handle.dispose();
      }
    });
  }

  /**
   * Runs an endpoint function on a request (the JS Request's members; JS parses `headers` and
   * `caller` only if the function reads them, and `body` serves `env.endpoint.body`). Reports what
   * the function returned.
   */
  callEndpoint(moduleName: string, exportName: string, request: EndpointRequest, env: CallEnv): EndpointResult {
    const { endpoint } = env;
    invariant(endpoint !== undefined, 'an endpoint call carries its request state');
    return this.#run(env, moduleName, exportName, (sandbox, fn, call) => {
      const { vm, bridge } = sandbox;
      const encodedCaller = encodeJsValue(request.caller, bridge.marker);
      const inline = endpoint.body.length <= INLINE_BODY_BYTES_MAX && isValidUtf8(endpoint.body);
      // Handles this call made and must free; shared strings stay with the sandbox.
      const owned: QuickJSHandle[] = [];
      const own = (handle: QuickJSHandle): QuickJSHandle => {
        owned.push(handle);
        return handle;
      };
      try {
        // The members travel as separate arguments (see the prelude's dispatch); JS parses `headers`
        // and `caller` only if the function reads them. Those that repeat from request to request
        // cross as strings shared between calls; the body and the query rarely repeat.
        const args = [
          fn,
          own(vm.newNumber(call.id)),
          inline ? own(bridge.newString(fromUtf8(endpoint.body))) : vm.undefined,
          sandbox.sharedString(JSON.stringify(request.headers), own),
          own(bridge.newString(request.query)),
          sandbox.sharedString(request.path, own),
          sandbox.sharedString(request.method, own),
          request.hostname === null ? vm.null : sandbox.sharedString(request.hostname, own),
          sandbox.sharedString(request.route, own),
          request.query === '' ? sandbox.sharedString(request.url, own) : own(bridge.newString(request.url)),
          Object.keys(request.params).length > 0 ? own(vm.newString(JSON.stringify(request.params))) : vm.undefined,
          sandbox.sharedString(encodedCaller.json, own),
          ...encodedCaller.buffers.map((buffer) => own(bridge.newBytes(buffer))),
        ];
        return sandbox.serveRequest(args, (unhandled) => logUnhandledRejections(env.host, request, unhandled, endpoint.logExceptionDetails === true));
      } finally {
        for (const handle of owned) handle.dispose();
      }
    });
  }

  /**
   * Evaluates module `moduleName` (if no call did yet) and checks that it exports a function under
   * each of `exportNames`; fails as `call` would, without calling any of them.
   */
  checkExports(moduleName: string, exportNames: readonly string[], env: CallEnv): void {
    for (const exportName of exportNames) this.#run(env, moduleName, exportName, () => undefined);
  }

  /**
   * Parses every loaded module without linking or evaluating any; JsModuleError names the first
   * module that does not compile and why.
   */
  compileModules(): void {
    this.#loadedSandbox().compileModules();
  }

  memoryUsage(): JsMemoryUsage {
    const sandbox = this.#loadedSandbox();
    const usage = sandbox.runtime.computeMemoryUsage();
    try {
      const { memory_used_size: heapBytes, malloc_count: allocations } = sandbox.vm.dump(usage) as { memory_used_size: number; malloc_count: number };
      return { heapBytes, allocations, linearMemoryBytes: this.#instance.quickjs.getWasmMemory().buffer.byteLength };
    } finally {
      usage.dispose();
    }
  }

  /** Drops the modules and every value calls left; `load` gives new ones. */
  unload(): void {
    if (this.#broken === undefined) this.#sandbox?.rewind();
  }

  /**
   * Frees the runtime and context for good. A broken interpreter's are only dropped: QuickJS
   * cannot free them.
   */
  dispose(): void {
    if (this.#broken === undefined) this.#sandbox?.dispose();
    this.#sandbox = undefined;
    this.#broken ??= new CocoError('JsInterpreterDisposed', 'the interpreter was disposed; create a new one');
  }

  #run<T>(env: CallEnv, moduleName: string, exportName: string, body: (sandbox: Sandbox, fn: QuickJSHandle, call: ActiveCall) => T): T {
    const sandbox = this.#loadedSandbox();
    invariant(sandbox.active === undefined, 'calls into one JsInterpreter do not nest');
    const call: ActiveCall = { env, id: ++this.#calls, phase: 'module', maps: new Map(), historicalSources: new Map() };
    sandbox.begin(call, env.host.monotonicMs() + Math.min(this.limits.maxExecutionTimeMs, env.maxExecutionTimeMs ?? Infinity));
    try {
      const fn = sandbox.exportedFunction(moduleName, exportName);
      call.phase = 'function';
      return body(sandbox, fn, call);
    } catch (error) {
      if (error instanceof SandboxFailure) throw this.#failure(sandbox, error, moduleName, exportName, call);
      if (error instanceof CocoError) throw error;
      if (error instanceof GuestError && error.jsName === 'InternalError' && error.message === 'out of memory') {
        throw new CocoError('JsOutOfMemory', `"${moduleName}" export "${exportName}": the heap (limited to ${this.limits.maxHeapBytes} bytes) had no room for a value the host passed in`);
      }
      if (error instanceof GuestError) throw new CocoError('InternalError', `the host could not pass a value to JavaScript: ${error.message}`);
      throw this.#markBroken(error);
    } finally {
      sandbox.end();
    }
  }

  #failure(sandbox: Sandbox, failure: SandboxFailure, moduleName: string, exportName: string, { phase, unheldRange }: ActiveCall): CocoError {
    const { name, message } = failure.details;
    // A range this node cannot produce, let through by the handler: the caller is told to ask another node, not a 500.
    if (unheldRange !== undefined && name === 'InternalError' && message === `${STATE_RANGE_FAILURE}${unheldRange.message}`) return unheldRange;
    const what = phase === 'module' ? `loading module "${moduleName}"` : `"${moduleName}" export "${exportName}"`;
    if (sandbox.timedOut) return new CocoError('JsExecutionTimeout', JS_TIMEOUT_MESSAGE);
    if (name === 'InternalError' && message === 'out of memory') {
      return new CocoError('JsOutOfMemory', `${what} ran out of memory: the heap is limited to ${this.limits.maxHeapBytes} bytes`);
    }
    if (message === 'stack overflow') {
      return new CocoError('JsStackOverflow', `${what} overflowed the stack (${sandbox.stackBytes} bytes): look for unbounded recursion`);
    }
    // QuickJS throws null when the heap has no room left even for its out-of-memory error (a handler
    // that fills it with many small objects); an app may throw null too, so both are said.
    const shown = name === '' && message === 'null' ? `null (if it allocates much: QuickJS throws null when the heap, limited to ${this.limits.maxHeapBytes} bytes, has no room even for its out-of-memory error)` : name === '' ? message : `${name}: ${message}`;
    return new JsExceptionError(phase === 'module' ? 'JsModuleError' : 'JsException', `${what} threw ${shown}`, failure.details);
  }

  #markBroken(cause: unknown): CocoError {
    const overflow = cause instanceof RangeError && /call stack/i.test(cause.message);
    this.#broken ??= overflow
      ? new CocoError('JsStackOverflow', "JavaScript overflowed Node's own stack, which leaves the interpreter unusable: create a new one", { cause })
      : new CocoError('JsInterpreterBroken', `the interpreter failed inside QuickJS and cannot be used again: ${String(cause)}`, { cause });
    return this.#broken;
  }

  #assertUsable(): void {
    if (this.#broken !== undefined) throw this.#broken;
  }

  #loadedSandbox(): Sandbox {
    this.#assertUsable();
    if (this.#sandbox?.loaded !== true) throw new CocoError('JsModuleError', 'the interpreter has no modules loaded: call load() first');
    return this.#sandbox;
  }
}

/**
 * A frame's place in an app module as this QuickJS writes it: "at f (/dir/m.js:27:24)", or
 * "at /dir/m.js:2:13" for a syntax error.
 */
const MODULE_FRAME_PLACE = /(\(|at )\/([^()\s]*):(\d+):\d+(\)?)$/;

/**
 * A JS stack without the frames of Coco's own runtime code (the prelude, entry modules), each place
 * written as CCF's QuickJS writes it: the module's bundle name and the line, "(dir/m.js:27)" (or
 * "at dir/m.js:2" for a syntax error).
 */
function withoutRuntimeFrames(stack: string): string {
  const lines = stack.split('\n');
  return lines
    .filter((line, i) => !line.includes('<coco:') && !(line.trim() === 'at apply (native)' && (lines[i + 1] ?? '').includes('<coco:')))
    .map((line) => line.replace(MODULE_FRAME_PLACE, '$1$2:$3$4'))
    .join('\n');
}

/** An exception thrown in QuickJS, caught at the boundary; the interpreter turns it into a CocoError. */
class SandboxFailure extends Error {
  readonly details: JsErrorDetails;

  constructor(details: JsErrorDetails) {
    super(details.message);
    this.details = details;
  }
}

/**
 * One runtime + context with the ccf global, the app's modules and the running call's state, and
 * images of its memory to go back to: `base` right after the globals were installed, and the one of
 * a resettable load. After an image is restored, handles made since then point at nothing: the
 * caches of them are dropped, never disposed, and no handle a call made outlives the call.
 */
class Sandbox implements GlobalsSession {
  readonly runtime: QuickJSRuntime;
  readonly vm: QuickJSContext;
  readonly bridge: QuickJsBridge;
  readonly api: PreludeApi;
  readonly stackBytes: number;
  readonly #quickjs: QuickJSWASMModule;
  readonly #hostHeap: HostHeap;
  #modules: ReadonlyMap<string, string> = new Map();
  readonly #namespaces = new Map<string, QuickJSHandle>();
  readonly #functions = new Map<string, QuickJSHandle>();
  /** Insertion-ordered: when full, the oldest string goes (after the call that evicts it). */
  readonly #sharedStrings = new Map<string, QuickJSHandle>();
  /** Why each name imported but absent from the bundle could not be resolved. */
  readonly #unresolved = new Map<string, string>();
  /**
   * Host functions of installers, held so that QuickJS never frees them: an image restored after
   * a call freed one would bring it back without its host side.
   */
  readonly #installed: QuickJSHandle[] = [];
  readonly #markBroken: (cause: unknown) => void;
  readonly #base: LinearMemoryImage;
  #loadedImage: LinearMemoryImage | undefined;
  loaded = false;
  untrustedTime = false;
  metricsLogging = true;
  active: ActiveCall | undefined;
  timedOut = false;
  #deadlineMs: number | undefined;
  /** Source ids of historical states; 0 is a call's transaction. */
  #historicalSources = 0;

  constructor({ quickjs, hostHeap }: QuickJsInstance, limits: Readonly<JsLimits>, globals: SandboxGlobals, markBroken: (cause: unknown) => void) {
    this.#quickjs = quickjs;
    this.#hostHeap = hostHeap;
    this.#markBroken = markBroken;
    this.stackBytes = Math.min(limits.maxStackBytes, QUICKJS_STACK_BYTES_MAX);
    this.runtime = quickjs.newRuntime();
    try {
      this.runtime.setMemoryLimit(limits.maxHeapBytes);
      this.runtime.setMaxStackSize(this.stackBytes);
      this.runtime.setInterruptHandler(() => this.#shouldInterrupt());
      this.runtime.setModuleLoader(
        (name) =>
          name === COMPILE_STOP_MODULE
            ? `throw ${JSON.stringify(COMPILE_STOP_MESSAGE)};`
            : this.#modules.get(name) ?? { error: new Error(this.#unresolved.get(name) ?? `module "${name}" is not in the app bundle`) },
        (importer, specifier) => this.#resolve(importer, specifier),
      );
      this.vm = this.runtime.newContext();
      this.bridge = new QuickJsBridge(this.vm, toHex(randomBytes(MARKER_BYTES)));
      this.api = installCcfGlobals(this, globals.ccf);
    } catch (error) {
      this.runtime.dispose();
      throw error;
    }
    try {
      this.#install(globals.installers);
      // Handles the library makes on first use and keeps (the global object, and the runtime's
      // own context for memory figures) are made before the image, to be valid in every state
      // restored from it.
      void this.vm.global;
      this.runtime.computeMemoryUsage().dispose();
    } catch (error) {
      this.#free();
      throw error;
    }
    this.#base = LinearMemoryImage.capture(quickjs.getWasmMemory());
  }

  /** Takes `modules`; a resettable load compiles them all and keeps an image to reset to. */
  useModules(modules: ReadonlyMap<string, string>, resettable: boolean): void {
    this.#modules = modules;
    this.loaded = true;
    if (!resettable) return;
    try {
      this.compileModules();
    } catch (error) {
      if (!(error instanceof CocoError) || error.code !== 'JsModuleError') throw error;
      // Calls meet the error themselves, as they would without the image.
      this.#restore(this.#base, true);
    }
    this.#loadedImage = LinearMemoryImage.capture(this.#quickjs.getWasmMemory());
  }

  /** Back to the state `useModules` left, for a resettable load. */
  reset(): void {
    invariant(this.#loadedImage !== undefined, 'only a resettable load can be reset');
    this.#restore(this.#loadedImage, false);
  }

  /** Back to the state right after the globals were installed, without modules. */
  rewind(): void {
    this.#restore(this.#base, true);
    this.#modules = new Map();
    this.#unresolved.clear();
    this.#loadedImage = undefined;
    this.loaded = false;
  }

  #restore(image: LinearMemoryImage, clearBeyond: boolean): void {
    invariant(this.active === undefined, 'an image is restored between calls');
    image.restore(this.#quickjs.getWasmMemory(), clearBeyond);
    // Every image was taken while the host's reserve was held (see HostHeap).
    this.#hostHeap.restored();
    this.#namespaces.clear();
    this.#functions.clear();
    this.#sharedStrings.clear();
    this.untrustedTime = false;
    this.metricsLogging = true;
    this.timedOut = false;
  }

  begin(call: ActiveCall, deadlineMs: number): void {
    this.active = call;
    this.timedOut = false;
    this.#deadlineMs = deadlineMs;
  }

  end(): void {
    this.active = undefined;
    this.#deadlineMs = undefined;
  }

  activeCall(what: string): ActiveCall {
    if (this.active === undefined) throw new GuestError('Error', `${what} can only be used while the interpreter runs a call`);
    return this.active;
  }

  markBroken(cause: unknown): void {
    this.#markBroken(cause);
  }

  nextHistoricalSource(): number {
    return ++this.#historicalSources;
  }

  /** The function `exportName` of module `moduleName`, evaluating the module on first use. */
  exportedFunction(moduleName: string, exportName: string): QuickJSHandle {
    const key = `${moduleName}\u0000${exportName}`;
    const cached = this.#functions.get(key);
    if (cached !== undefined) return cached;
    const namespace = this.#namespace(moduleName);
    const fn = this.vm.getProp(namespace, exportName);
    if (this.vm.typeof(fn) !== 'function') {
      const found = this.vm.typeof(fn);
      fn.dispose();
      throw new CocoError(
        'JsModuleError',
        // CCF's words: apps and their tests see them in the 500's message.
        found === 'undefined' ? `Failed to find export '${exportName}' in module '${moduleName}'` : `Export '${exportName}' of module '${moduleName}' is not a function`,
      );
    }
    this.#functions.set(key, fn);
    return fn;
  }

  /**
   * QuickJS frees a module compiled without evaluation badly (its runtime then aborts on dispose),
   * so each module is linked behind a module that throws: QuickJS parses and links the whole
   * graph before it evaluates any of it, and the throw stops evaluation before any app code runs.
   */
  compileModules(): void {
    for (const moduleName of this.#modules.keys()) {
      const entry = `import ${JSON.stringify(COMPILE_STOP_MODULE)}; import ${JSON.stringify(moduleName)};`;
      let evaluated: ReturnType<QuickJSContext['evalCode']>;
      try {
        evaluated = this.vm.evalCode(entry, `<coco:compile:${moduleName}>`, { type: 'module' });
      } catch (error) {
        this.#markBroken(error);
        // QuickJS's parser recurses on the host's stack: source nested deeply enough (100,000
        // parentheses) exhausts it before QuickJS's own stack check says so.
        if (error instanceof RangeError) throw new CocoError('JsModuleError', `module "${moduleName}" does not compile: it, or a module it imports, nests too deeply for the compiler (${error.message})`);
        throw error;
      }
      let details: JsErrorDetails;
      if (evaluated.error !== undefined) {
        details = this.#sandboxFailure(evaluated.error).details;
      } else {
        try {
          this.#settled(evaluated.value).dispose();
          invariant(false, 'the compile stop module throws before any app module runs');
        } catch (error) {
          if (!(error instanceof SandboxFailure)) throw error;
          details = error.details;
        }
      }
      if (details.message === COMPILE_STOP_MESSAGE) continue;
      // The first frame's place, "dir/m.js:2" (see withoutRuntimeFrames).
      const where = details.stack?.match(/at ([^\s()]+:\d+)$/m)?.[1];
      const shown = details.name === '' ? details.message : `${details.name}: ${details.message}`;
      throw new CocoError('JsModuleError', `module "${moduleName}" does not compile: ${shown}${where === undefined ? '' : ` at ${where}`}`);
    }
  }

  /** Calls `fn` with `args`; a JS exception becomes a SandboxFailure, the result is the caller's. */
  callFunction(fn: QuickJSHandle, args: QuickJSHandle[]): QuickJSHandle {
    let result: ReturnType<QuickJSContext['callFunction']>;
    try {
      result = this.vm.callFunction(fn, this.vm.undefined, args);
    } catch (error) {
      this.#markBroken(error);
      throw error;
    }
    if (result.error !== undefined) throw this.#sandboxFailure(result.error);
    // A call that caught the refusal of a host call past its time limit (see checkTimeLimit) and returned.
    if (this.timedOut) {
      result.value.dispose();
      throw new CocoError('JsExecutionTimeout', JS_TIMEOUT_MESSAGE);
    }
    return result.value;
  }

  /** What an endpoint function's dispatch (or settleAsync) returned; the handle is disposed. */
  dispatchOutcome(result: QuickJSHandle): DispatchOutcome {
    try {
      return readEndpointResult(this.bridge, result);
    } finally {
      result.dispose();
    }
  }

  /**
   * One endpoint request: the prelude's dispatch on `args`, then the promise jobs the function
   * queued, within the request (its transaction and time limit), then for an async function what its
   * promise settled to. The request's body stays readable to the jobs; `unhandled` hears of the
   * promise rejections nothing in the request handled. The jobs run even when the function threw:
   * a kept interpreter would otherwise run them in its next request, in another caller's
   * transaction. After a limit (time, memory, stack) the interpreter is reset or reloaded, which
   * drops them.
   */
  serveRequest(args: QuickJSHandle[], unhandled: (rejections: UnhandledRejections) => void): EndpointResult {
    let outcome: DispatchOutcome;
    try {
      const dispatched = this.dispatchOutcome(this.callFunction(this.api.dispatch, args));
      this.runPendingJobs();
      outcome = dispatched.kind === 'pending' ? this.dispatchOutcome(this.callFunction(this.api.settleAsync, [])) : dispatched;
    } catch (error) {
      // A limit the jobs reach is what the request reports, so that a kept interpreter is reloaded.
      if (error instanceof SandboxFailure && !this.timedOut) {
        this.runPendingJobs();
        this.#endRequest(unhandled);
      }
      throw error;
    }
    this.#endRequest(unhandled);
    invariant(outcome.kind !== 'pending', 'settleAsync reports a result');
    return outcome;
  }

  #endRequest(unhandled: (rejections: UnhandledRejections) => void): void {
    const taken = this.callFunction(this.api.endRequest, []);
    try {
      if (this.vm.typeof(taken) === 'undefined') return;
      const count = this.#element(taken, 0, (value) => this.vm.getNumber(value));
      const first = this.#element(taken, 1, (errors) => {
        const length = this.#element(errors, 'length', (value) => this.vm.getNumber(value));
        return Array.from({ length }, (_, i) => this.#element(errors, i, (error) => this.#errorDetails(error)));
      });
      unhandled({ count, first });
    } finally {
      taken.dispose();
    }
  }

  #element<T>(handle: QuickJSHandle, key: number | string, read: (value: QuickJSHandle) => T): T {
    const value = this.vm.getProp(handle, key);
    try {
      return read(value);
    } finally {
      value.dispose();
    }
  }

  /** Runs the promise jobs queued so far, and those they queue; a job's exception is a SandboxFailure. */
  runPendingJobs(): void {
    let ran: ReturnType<QuickJSRuntime['executePendingJobs']>;
    try {
      ran = this.runtime.executePendingJobs();
    } catch (error) {
      this.#markBroken(error);
      throw error;
    }
    if (ran.error !== undefined) throw this.#sandboxFailure(ran.error);
    ran.dispose();
    // An interrupted job only rejects its own promise, which may leave the awaited one pending.
    if (this.timedOut) throw new CocoError('JsExecutionTimeout', JS_TIMEOUT_MESSAGE);
  }

  /**
   * A JS string for `text` that calls share: what repeats from request to request (the method, the
   * route, the caller, most header sets) crosses into the sandbox once instead of once a call.
   * Strings are immutable values, so a shared one shows a call nothing of another. The oldest
   * string makes room for a new one; `own` takes it, to be freed once the call that may still pass
   * it is over (a string this call already took can be the oldest), and takes as well a string too
   * long to share, or one holding NUL.
   */
  sharedString(text: string, own: (handle: QuickJSHandle) => QuickJSHandle): QuickJSHandle {
    const shared = this.#sharedStrings.get(text);
    if (shared !== undefined) return shared;
    if (text.length > SHARED_STRING_CHARS_MAX || text.includes('\0')) return own(this.bridge.newString(text));
    if (this.#sharedStrings.size >= SHARED_STRINGS_MAX) {
      const [oldest, handle] = this.#sharedStrings.entries().next().value as [string, QuickJSHandle];
      this.#sharedStrings.delete(oldest);
      own(handle);
    }
    const handle = this.vm.newString(text);
    this.#sharedStrings.set(text, handle);
    return handle;
  }

  /** Frees the runtime and context (from the base image: modules QuickJS compiled are not freed well). */
  dispose(): void {
    this.rewind();
    this.#free();
  }

  #free(): void {
    for (const handle of this.#installed) handle.dispose();
    this.api.dispose();
    this.vm.dispose();
    this.runtime.dispose();
  }

  #namespace(moduleName: string): QuickJSHandle {
    const cached = this.#namespaces.get(moduleName);
    if (cached !== undefined) return cached;
    if (!this.#modules.has(moduleName)) throw new CocoError('JsModuleError', `module "${moduleName}" is not in the app bundle`);
    const vm = this.vm;
    // A tiny entry module imports the app module, so that it is evaluated once and shared with
    // the modules that import it.
    const entry = `import * as ns from ${JSON.stringify(moduleName)}; export { ns };`;
    let evaluated: ReturnType<QuickJSContext['evalCode']>;
    try {
      evaluated = vm.evalCode(entry, `<coco:entry:${moduleName}>`, { type: 'module' });
    } catch (error) {
      this.#markBroken(error);
      throw error;
    }
    if (evaluated.error !== undefined) throw this.#sandboxFailure(evaluated.error);
    const exports = this.#settled(evaluated.value);
    try {
      const namespace = vm.getProp(exports, 'ns');
      this.#namespaces.set(moduleName, namespace);
      return namespace;
    } finally {
      exports.dispose();
    }
  }

  /** The value of a module evaluation, which QuickJS may give as a promise. */
  #settled(value: QuickJSHandle): QuickJSHandle {
    let state = this.vm.getPromiseState(value);
    if (state.type === 'pending') {
      try {
        this.runPendingJobs();
      } catch (error) {
        value.dispose();
        throw error;
      }
      state = this.vm.getPromiseState(value);
    }
    if (state.type === 'fulfilled') {
      if (state.notAPromise) return value;
      value.dispose();
      return state.value;
    }
    value.dispose();
    if (state.type === 'rejected') throw this.#sandboxFailure(state.error);
    throw new CocoError('JsModuleError', 'a module did not finish evaluating: top-level await on a promise that never settles');
  }

  #sandboxFailure(error: QuickJSHandle): SandboxFailure {
    try {
      return new SandboxFailure(this.#errorDetails(error));
    } finally {
      error.dispose();
    }
  }

  #errorDetails(error: QuickJSHandle): JsErrorDetails {
    let dumped: unknown;
    try {
      dumped = this.vm.dump(error);
    } catch {
      return { name: '', message: 'an exception that could not be read', stack: undefined };
    }
    if (typeof dumped === 'object' && dumped !== null && 'message' in dumped) {
      const { name, message, stack } = dumped as { name?: unknown; message?: unknown; stack?: unknown };
      return {
        name: typeof name === 'string' ? name : 'Error',
        message: String(message),
        stack: typeof stack === 'string' ? withoutRuntimeFrames(stack) : undefined,
      };
    }
    return { name: '', message: typeof dumped === 'string' ? dumped : JSON.stringify(dumped) ?? String(dumped), stack: undefined };
  }

  checkTimeLimit(): void {
    if (this.timedOut || this.#shouldInterrupt()) throw new CocoError('JsExecutionTimeout', JS_TIMEOUT_MESSAGE);
  }

  remainingMs(): number {
    const clock = this.active?.env.host;
    if (this.#deadlineMs === undefined || clock === undefined) return Infinity;
    return Math.max(0, this.#deadlineMs - clock.monotonicMs());
  }

  /** Runs the host's preparation of a call (its arguments), never counted against the call's limit: the script has no say in it. */
  beforeTimeLimit<T>(work: () => T): T {
    const clock = this.active?.env.host;
    const startMs = clock?.monotonicMs();
    try {
      return work();
    } finally {
      if (this.#deadlineMs !== undefined && clock !== undefined && startMs !== undefined) this.#deadlineMs += clock.monotonicMs() - startMs;
    }
  }

  #shouldInterrupt(): boolean {
    if (this.#deadlineMs === undefined || this.active === undefined) return false;
    if (this.active.env.host.monotonicMs() <= this.#deadlineMs) return false;
    this.timedOut = true;
    return true;
  }

  /**
   * The module name `specifier` denotes from `importer`. A name outside the bundle is returned
   * too (QuickJS drops errors returned here) and the loader then fails with the message kept.
   */
  #resolve(importer: string, specifier: string): string {
    if (specifier === COMPILE_STOP_MODULE) return specifier;
    const name = resolveModuleName(importer.startsWith('/') ? importer : '/', specifier);
    if (!this.#modules.has(name) && !this.#unresolved.has(name)) {
      const from = importer.startsWith('/') ? ` imported by "${importer}"` : '';
      const hint = isPackageSpecifier(specifier) ? '; packages are not resolved here: bundle them into the app (e.g. with esbuild)' : '';
      this.#unresolved.set(name, `module "${specifier}"${from} resolves to "${name}", which is not in the app bundle${hint}`);
    }
    return name;
  }

  #install(installers: readonly JsGlobalInstaller[]): void {
    if (installers.length === 0) return;
    const vm = this.vm;
    const ccf = vm.getProp(vm.global, 'ccf');
    try {
      const scope: JsGlobalScope = {
        vm,
        ccf,
        currentEnv: () => this.activeCall('this function').env,
        defineFunction: (target, name, impl) => {
          this.#installed.push(
            defineHostFunction(this, target, name, (...args) => {
              const env = this.activeCall(name).env;
              return this.bridge.newValue(impl(env, args.map((arg) => this.bridge.readValue(arg))));
            }),
          );
        },
      };
      for (const install of installers) install(scope);
    } finally {
      ccf.dispose();
    }
  }
}
