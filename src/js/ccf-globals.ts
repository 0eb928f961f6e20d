// The native half of the `ccf` global: the private `host` functions the prelude (ccf-prelude.ts)
// calls. They enforce what JS must not decide for itself: the KV access matrix, request data only
// during its own request, and optional host capabilities that throw a clear error when the node did
// not provide them. As in CCF, a module's top level runs within the call that first loads it, with
// that call's KV transaction and ccf.rpc.

import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten-core';
import { CocoError, invariant } from '../errors.js';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { certificateId } from '../crypto/entity-id.js';
import { randomBytes } from '../crypto/random.js';
import type { MapHandle } from '../kv/map-handle.js';
import type { Transaction } from '../kv/transaction.js';
import { formatTxId } from '../ledger/tx-id.js';
import * as ccfCrypto from './ccf-crypto.js';
import { CCF_PRELUDE_SOURCE } from './ccf-prelude.js';
import type { CallEnv } from './call-env.js';
import type { HistoricalStateInput, JsHost } from './js-host.js';
import { jsReceipt } from './js-receipt.js';
import { tcbHexToPolicy } from './snp-tcb-policy.js';
import { verifySnpReport } from '../attestation/snp-report.js';
import { verifyUvmEndorsements } from '../attestation/uvm-endorsements.js';
import { jsonNestingExceeds } from './json-nesting.js';
import { describeKvContext, mapAccess, type MapAccess } from './kv-access.js';
import { GuestError, type QuickJsBridge } from './quickjs-bridge.js';
import { fromQuickJsUtf8, quickJsUtf8 } from './quickjs-utf8.js';

/** What one endpoint function returned, as the prelude's dispatch reports it. */
export type EndpointResult =
  | {
      kind: 'none' | 'bytes' | 'text' | 'json';
      /** Undefined when the function returned no statusCode. */
      statusCode: number | undefined;
      headers: Record<string, string>;
      body: Uint8Array;
    }
  /** `category` is CCF's name for what is wrong ('not an object', 'status code type', ...). */
  | { kind: 'invalid'; category: string; reason: string };

/** What the prelude's dispatch reports: a result, or an async function's promise ('pending'), whose result the prelude's settleAsync reports once the host ran the promise jobs. */
export type DispatchOutcome = EndpointResult | { kind: 'pending' };

interface MapSlot {
  access: MapAccess;
  /** The transaction the map is read from: the call's, or a historical state's. */
  tx: Transaction;
  handle: MapHandle | undefined;
}

/** The state of the call an interpreter is running. */
export interface ActiveCall {
  readonly env: CallEnv;
  /** Distinguishes calls, so that a request object kept past its call cannot read a later body. */
  readonly id: number;
  /** 'module' while app modules evaluate (no KV access), 'function' inside the called function. */
  phase: 'module' | 'function';
  /** Per source (0 = tx, others historical states) and map name. */
  readonly maps: Map<string, MapSlot>;
  /** The historical states the call was given (`env.historicalState`, getStateRange's), by source id. */
  readonly historicalSources: Map<number, HistoricalStateInput>;
  /** The source id of `env.historicalState`, from the first time the call read ccf.historicalState. */
  historicalStateSource?: number;
  /**
   * Seqnos a getStateRange asked for that this node's ledger files do not hold (it started from a
   * later snapshot): thrown to the handler, and the call's answer if the handler lets it through.
   */
  unheldRange?: CocoError;
}

/** What the host functions need from the interpreter that runs them. */
export interface GlobalsSession {
  readonly bridge: QuickJsBridge;
  /** The running call; a GuestError naming `what` when there is none. */
  activeCall(what: string): ActiveCall;
  untrustedTime: boolean;
  metricsLogging: boolean;
  /** Called when a Node exception unwound QuickJS mid-call, which leaves it unusable. */
  markBroken(cause: unknown): void;
  /** A source id for one historical state of the running call. */
  nextHistoricalSource(): number;
  /** Throws JsExecutionTimeout once the running call is past its time limit (see defineHostFunction). */
  checkTimeLimit(): void;
  /** What is left of the running call's time limit, in ms (Infinity without one). */
  remainingMs(): number;
}

/** Handles of the prelude's entry points and of the host functions; `dispose` releases them. */
export interface PreludeApi {
  callExport: QuickJSHandle;
  callExportWith: QuickJSHandle;
  callExportForText: QuickJSHandle;
  dispatch: QuickJSHandle;
  settleAsync: QuickJSHandle;
  endRequest: QuickJSHandle;
  encode: QuickJSHandle;
  decode: QuickJSHandle;
  makeError: QuickJSHandle;
  dispose(): void;
}

type HostFunction = (...args: QuickJSHandle[]) => QuickJSHandle | { error: QuickJSHandle } | undefined;

const CLAIMS_DIGEST_BYTES = 32;
const RANDOM_POOL_NUMBERS = 64;
/** 2^53: Math.random returns 53 random bits as a fraction of this. */
const TWO_POW_53 = 2 ** 53;
const TWO_POW_32 = 2 ** 32;

const WRITE_OPERATIONS = new Set(['set', 'delete', 'clear']);
/** How CCF's errors name a map's access, e.g. "Cannot call .set() on read-only table named ...". */
const ACCESS_KINDS: Record<MapAccess, string> = { none: 'inaccessible', read: 'read-only', write: 'write-only', readwrite: 'read-write' };

/** A historical state is read-only: what the context may read there, nothing more. */
function historicalAccess(access: MapAccess): MapAccess {
  if (access === 'readwrite') return 'read';
  return access === 'write' ? 'none' : access;
}

/**
 * getStateRange answers null, as CCF's does, for seqnos not committed yet: they may be later. What
 * else the node refuses throws CCF's InternalError "Failed to get state range: ...": a range that is
 * no range, or too long, as in CCF, and where CCF answers null forever (its cache asks the host for
 * entries that never come), seqnos this node's ledger files do not hold (it joined from a later
 * snapshot: ask another node) and a damaged ledger entry (the app is told the file and seqno).
 */
const RANGE_PENDING = 'TransactionPendingOrUnknown';

/** How CCF's getStateRange errors begin. */
export const STATE_RANGE_FAILURE = 'Failed to get state range: ';

/**
 * Which `ccf` global an interpreter gets: an app's, or the one CCF gives governance scripts (the
 * constitution and ballots), without ccf.rpc, ccf.consensus, ccf.historical, ccf.historicalState,
 * ccf.host and the top-level crypto aliases.
 */
export type CcfGlobals = 'application' | 'governance';

/**
 * Evaluates the prelude in the session's context with the host functions, installing `ccf` (as
 * `globals` says), `console`, `Math.random`, `Date` and `snp_attestation`, and connects the
 * session's bridge to it.
 */
export function installCcfGlobals(session: GlobalsSession, globals: CcfGlobals): PreludeApi {
  const { bridge } = session;
  const vm = bridge.vm;
  const hostObject = vm.newObject();
  // Held until dispose, so that QuickJS never frees a host function (see Sandbox).
  const functions: QuickJSHandle[] = [];
  try {
    for (const [name, fn] of Object.entries(hostFunctions(session))) functions.push(defineHostFunction(session, hostObject, name, fn));
    const factory = unwrapSetup(vm, vm.evalCode(CCF_PRELUDE_SOURCE, '<coco:ccf-prelude>', { type: 'global', strict: true }));
    const markerHandle = vm.newString(bridge.marker);
    const globalsHandle = vm.newString(globals);
    let apiHandle: QuickJSHandle;
    try {
      apiHandle = unwrapSetup(vm, vm.callFunction(factory, vm.undefined, hostObject, markerHandle, globalsHandle));
    } finally {
      globalsHandle.dispose();
      markerHandle.dispose();
      factory.dispose();
    }
    try {
      const api: PreludeApi = {
        callExport: vm.getProp(apiHandle, 'callExport'),
        callExportWith: vm.getProp(apiHandle, 'callExportWith'),
        callExportForText: vm.getProp(apiHandle, 'callExportForText'),
        dispatch: vm.getProp(apiHandle, 'dispatch'),
        settleAsync: vm.getProp(apiHandle, 'settleAsync'),
        endRequest: vm.getProp(apiHandle, 'endRequest'),
        encode: vm.getProp(apiHandle, 'encode'),
        decode: vm.getProp(apiHandle, 'decode'),
        makeError: vm.getProp(apiHandle, 'makeError'),
        dispose() {
          for (const handle of [api.callExport, api.callExportWith, api.callExportForText, api.dispatch, api.settleAsync, api.endRequest, api.encode, api.decode, api.makeError, ...functions]) handle.dispose();
        },
      };
      bridge.connect(api);
      return api;
    } finally {
      apiHandle.dispose();
    }
  } catch (error) {
    for (const handle of functions) handle.dispose();
    throw error;
  } finally {
    hostObject.dispose();
  }
}

/**
 * Defines `target[name]` as a host function; Node errors reach JS as JS errors (see GuestError).
 * Returns the function's handle, which the caller disposes. Each call first checks the running
 * call's time limit: QuickJS asks its interrupt handler only every so many JS steps, so a loop of
 * slow host calls (RSA key generation, digests of large buffers) ran as many calls past the limit,
 * minutes of a blocked node; refused here, it overruns by one call at most.
 */
export function defineHostFunction(session: Pick<GlobalsSession, 'bridge' | 'checkTimeLimit'>, target: QuickJSHandle, name: string, fn: HostFunction): QuickJSHandle {
  const { bridge } = session;
  const vm = bridge.vm;
  const handle = vm.newFunction(name, (...args) => {
    try {
      session.checkTimeLimit();
      return fn(...args);
    } catch (error) {
      return { error: bridge.newError(error) };
    }
  });
  try {
    vm.setProp(target, name, handle);
  } catch (error) {
    handle.dispose();
    throw error;
  }
  return handle;
}

function unwrapSetup(vm: QuickJSContext, result: ReturnType<QuickJSContext['callFunction']>): QuickJSHandle {
  if (result.error !== undefined) {
    const details = JSON.stringify(vm.dump(result.error));
    result.error.dispose();
    throw new CocoError('InternalError', `the ccf global failed to install: ${details}`);
  }
  return result.value;
}

function hostFunctions(session: GlobalsSession): Record<string, HostFunction> {
  const { bridge } = session;
  const vm = bridge.vm;
  const str = (handle: QuickJSHandle): string => vm.getString(handle);
  const num = (handle: QuickJSHandle): number => vm.getNumber(handle);
  const flag = (handle: QuickJSHandle): boolean => vm.getNumber(handle) !== 0;
  const bytes = (handle: QuickJSHandle): Uint8Array => bridge.readBytes(handle);
  const isUndefined = (handle: QuickJSHandle | undefined): boolean => handle === undefined || vm.typeof(handle) === 'undefined';
  const bool = (value: boolean): QuickJSHandle => (value ? vm.true : vm.false);
  /** A view, seqno, handle or expiry, which the prelude has made a whole number from 0 (its toInt64). */
  const wholeNumber = (handle: QuickJSHandle): number => {
    const n = vm.getNumber(handle);
    invariant(Number.isInteger(n) && n >= 0, 'the prelude passes views, seqnos, handles and expiries as whole numbers from 0');
    return n;
  };
  const anyPhase = (what: string): CallEnv => session.activeCall(what).env;

  /** The historical state that source `id` names in the running call. */
  function historicalSource(call: ActiveCall, id: number): HistoricalStateInput {
    const state = call.historicalSources.get(id);
    if (state === undefined) {
      throw new GuestError('Error', 'this historical state belongs to an earlier call: read it again (ccf.historicalState or ccf.historical.getStateRange) in the call that uses it');
    }
    return state;
  }

  /** The map handle for a KV operation, after the access check for the call's context. */
  function map(operation: string, sourceHandle: QuickJSHandle, nameHandle: QuickJSHandle): MapHandle {
    const name = str(nameHandle);
    const call = session.activeCall(`ccf.kv['${name}'].${operation}()`);
    const sourceId = num(sourceHandle);
    const slotKey = sourceId === 0 ? name : `${sourceId}\u0000${name}`;
    const readOnly = sourceId !== 0;
    let slot = call.maps.get(slotKey);
    if (slot === undefined) {
      const access = mapAccess(call.env.kvContext, name);
      const tx = readOnly ? historicalSource(call, sourceId).tx : call.env.tx;
      slot = { access: readOnly ? historicalAccess(access) : access, tx, handle: undefined };
      call.maps.set(slotKey, slot);
    }
    const allowed = WRITE_OPERATIONS.has(operation) ? slot.access === 'readwrite' || slot.access === 'write' : slot.access === 'readwrite' || slot.access === 'read';
    if (!allowed) {
      const kind = ACCESS_KINDS[slot.access];
      const context = readOnly ? 'historical (read-only)' : describeKvContext(call.env.kvContext);
      // CCF's words, which apps and their tests may match on.
      throw new GuestError('TypeError', `Cannot call .${operation}() on ${kind} table named ${name} in ${context} execution context. See ${KV_ACCESS_RULES_URL} for more detail.`);
    }
    return (slot.handle ??= slot.tx.map(name));
  }

  function consensus(): NonNullable<JsHost['consensus']> {
    const host = anyPhase('ccf.consensus').host;
    if (host.consensus === undefined) throw new GuestError('Error', 'ccf.consensus is not available in this context');
    return host.consensus;
  }

  function historical(): NonNullable<JsHost['historical']> {
    const host = anyPhase('ccf.historical').host;
    if (host.historical === undefined) throw new GuestError('Error', 'ccf.historical is not available in this context');
    return host.historical;
  }

  function endpoint(what: string): NonNullable<CallEnv['endpoint']> {
    const state = anyPhase(what).endpoint;
    if (state === undefined) throw new GuestError('Error', `${what} can only be used while an endpoint handles a request`);
    return state;
  }

  function requestBody(callIdHandle: QuickJSHandle): Uint8Array {
    const call = session.activeCall('request.body');
    const state = call.env.endpoint;
    if (state === undefined || call.id !== num(callIdHandle)) {
      throw new GuestError('Error', 'request.body can only be read while its own request is handled');
    }
    return state.body;
  }

  const randomPool: number[] = [];
  function random(): number {
    if (randomPool.length === 0) {
      const pool = randomBytes(RANDOM_POOL_NUMBERS * 8);
      const view = new DataView(pool.buffer, pool.byteOffset, pool.byteLength);
      for (let i = 0; i < RANDOM_POOL_NUMBERS; i++) {
        const high = view.getUint32(i * 8) >>> 11; // 21 bits
        randomPool.push((high * TWO_POW_32 + view.getUint32(i * 8 + 4)) / TWO_POW_53);
      }
    }
    const value = randomPool.pop();
    invariant(value !== undefined, 'the random pool was just refilled');
    return value;
  }

  const wrapAlgorithm = (name: QuickJSHandle, label: QuickJSHandle | undefined, aesKeySize: QuickJSHandle | undefined): ccfCrypto.WrapAlgorithm => ({
    name: str(name),
    label: label === undefined || isUndefined(label) ? undefined : bytes(label),
    aesKeySize: aesKeySize === undefined || isUndefined(aesKeySize) ? undefined : num(aesKeySize),
  });

  return {
    // ---- converters, time, randomness, log
    strToBuf: (json) => bridge.newBytes(quickJsUtf8(JSON.parse(str(json)) as string)),
    // As JSON too: the bridge's own string conversion cannot carry a lone surrogate.
    bufToStr: (b) => bridge.newString(JSON.stringify(fromQuickJsUtf8(bytes(b)))),
    pemToId: (pem) => vm.newString(certificateId(str(pem))),
    tcbHexToPolicy: (cpuid, tcbVersion) => bridge.newValue({ ...tcbHexToPolicy(str(cpuid), str(tcbVersion)) }),
    now: () => {
      const call = session.activeCall('Date');
      if (!session.untrustedTime) return vm.newNumber(0);
      // Read at each call, as CCF's host time, which its host moves every millisecond: a handler that
      // waits on the clock (CCF's own tests' sleep endpoint) sees it move.
      return vm.newNumber(call.env.host.untrustedNowMs());
    },
    setUntrustedTime: (enable) => {
      const previous = session.untrustedTime;
      session.untrustedTime = flag(enable);
      return bool(previous);
    },
    setMetricsLogging: (enable) => {
      const previous = session.metricsLogging;
      session.metricsLogging = flag(enable);
      return bool(previous);
    },
    random: () => vm.newNumber(random()),
    log: (level, message) => {
      const name = str(level);
      invariant(name === 'info' || name === 'warn' || name === 'error', 'the prelude logs at info, warn or error');
      anyPhase('console').host.log(name, JSON.parse(str(message)) as string);
      return undefined;
    },

    // ---- ccf.kv
    kvHas: (source, name, key) => bool(map('has', source, name).has(bytes(key))),
    kvGet: (source, name, key) => {
      const value = map('get', source, name).get(bytes(key));
      return value === undefined ? vm.undefined : bridge.newBytes(value);
    },
    kvVersion: (source, name, key) => {
      const version = map('getVersionOfPreviousWrite', source, name).getVersionOfPreviousWrite(bytes(key));
      return version === undefined ? vm.undefined : vm.newNumber(Number(version));
    },
    kvSet: (source, name, key, value) => {
      map('set', source, name).set(bytes(key), bytes(value));
      return undefined;
    },
    kvDelete: (source, name, key) => {
      map('delete', source, name).delete(bytes(key));
      return undefined;
    },
    kvClear: (source, name) => {
      map('clear', source, name).clear();
      return undefined;
    },
    kvSize: (source, name) => vm.newNumber(map('size', source, name).size()),
    kvForEach: (source, name, callback, mapObject) => {
      let failure: QuickJSHandle | undefined;
      map('forEach', source, name).forEach((value, key) => {
        const args = [bridge.newBytes(value), bridge.newBytes(key), mapObject];
        let result: ReturnType<QuickJSContext['callFunction']>;
        try {
          result = vm.callFunction(callback, vm.undefined, args);
        } catch (error) {
          session.markBroken(error);
          throw error;
        } finally {
          args[0]?.dispose();
          args[1]?.dispose();
        }
        if (result.error !== undefined) {
          failure = result.error;
          return false;
        }
        result.value.dispose();
        return true;
      });
      return failure === undefined ? undefined : { error: failure };
    },

    // ---- ccf.rpc and the request
    setApplyWrites: (force) => {
      endpoint('ccf.rpc.setApplyWrites').applyWrites = flag(force);
      return undefined;
    },
    setClaimsDigest: (digestHandle) => {
      const digest = bytes(digestHandle);
      if (digest.length !== CLAIMS_DIGEST_BYTES) {
        throw new GuestError('TypeError', `Argument must be an ArrayBuffer of the right size: ${CLAIMS_DIGEST_BYTES}`);
      }
      endpoint('ccf.rpc.setClaimsDigest').claimsDigest = digest;
      return undefined;
    },
    requestText: (callId) => bridge.newString(fromUtf8(requestBody(callId))),
    jsonNestingExceeds: (textHandle) => (jsonNestingExceeds(vm.getString(textHandle)) ? vm.true : vm.false),
    requestBody: (callId) => bridge.newBytes(requestBody(callId)),

    // ---- ccf.consensus and ccf.historical
    lastCommittedTxId: () => bridge.newValue({ ...consensus().lastCommittedTxId() }),
    statusForTxId: (view, seqno) => vm.newString(consensus().statusForTxId({ view: wholeNumber(view), seqno: wholeNumber(seqno) })),
    viewForSeqno: (seqno) => {
      const view = consensus().viewForSeqno(wholeNumber(seqno));
      return view === null ? vm.null : vm.newNumber(view);
    },
    loadingModules: () => bool(session.activeCall('ccf.historicalState').phase === 'module'),
    // A historical state crosses as its TxID and a source id; its receipt crosses when first read.
    historicalState: () => {
      const call = session.activeCall('ccf.historicalState');
      const state = call.env.historicalState;
      if (state === undefined) return vm.null;
      if (call.historicalStateSource === undefined) {
        call.historicalStateSource = session.nextHistoricalSource();
        call.historicalSources.set(call.historicalStateSource, state);
      }
      return bridge.newValue([call.historicalStateSource, formatTxId(state.transactionId)]);
    },
    historicalReceipt: (sourceHandle) => bridge.newValue(jsReceipt(historicalSource(session.activeCall('receipt'), num(sourceHandle)).receipt)),
    getStateRange: (handle, start, end, expiry) => {
      const args = [wholeNumber(handle), wholeNumber(start), wholeNumber(end), wholeNumber(expiry)] as const;
      // As CCF: no transaction has seqno 0, so its cache waits for one forever and answers null.
      if (args[1] === 0 && args[2] >= args[1]) return vm.null;
      let states: HistoricalStateInput[] | null;
      try {
        states = historical().getStateRange(...args);
      } catch (error) {
        if (!(error instanceof CocoError)) throw error;
        if (error.code === RANGE_PENDING) return vm.null;
        if (error.code === 'ResourceNotFound') session.activeCall('ccf.historical.getStateRange').unheldRange = error;
        // As CCF's getStateRange reports whatever its historical cache refuses.
        throw new GuestError('InternalError', `${STATE_RANGE_FAILURE}${error.message}`);
      }
      if (states === null) return vm.null;
      const call = session.activeCall('ccf.historical.getStateRange');
      return bridge.newValue(
        states.map((state) => {
          const id = session.nextHistoricalSource();
          call.historicalSources.set(id, state);
          return [formatTxId(state.transactionId), id];
        }),
      );
    },
    dropCachedStates: (handle) => bool(historical().dropCachedStates(wholeNumber(handle))),

    // ---- ccf.crypto
    digest: (algorithm, data) => bridge.newBytes(ccfCrypto.digest(str(algorithm), bytes(data))),
    sign: (algorithmJson, key, data) => {
      const algorithm = JSON.parse(str(algorithmJson)) as ccfCrypto.SigningAlgorithm;
      const failure = algorithm.name === 'EdDSA' ? 'Failed to sign with EdDSA pair: ' : 'Failed to sign: ';
      return bridge.newBytes(asCcfFailure(failure, () => ccfCrypto.sign(algorithm, JSON.parse(str(key)) as string, bytes(data))));
    },
    verifySignature: (algorithmJson, key, signature, data) => {
      const algorithm = JSON.parse(str(algorithmJson)) as ccfCrypto.SigningAlgorithm;
      const verify = (): boolean => ccfCrypto.verifySignature(algorithm, str(key), bytes(signature), bytes(data));
      // CCF's EdDSA failures are RangeErrors, unlike the others.
      return bool(algorithm.name === 'EdDSA' ? asCcfFailure('Failed to verify EdDSA signature: ', verify, 'RangeError') : asCcfFailure('Failed to verify signature: ', verify));
    },
    generateAesKey: (size) => bridge.newBytes(ccfCrypto.generateAesKey(num(size))),
    // A pair not ready ahead is waited for during half of what is left of the call's time limit, so
    // that a handler that catches the refusal still has time to act on it (docs/js-isolation.md).
    generateRsaKeyPair: (size, exponent) => {
      const pool = anyPhase('generateRsaKeyPair').host.rsaKeyPairs;
      return bridge.newValue({ ...asCcfFailure('Failed to generate RSA key pair: ', () => ccfCrypto.generateRsaKeyPair(num(size), isUndefined(exponent) ? undefined : num(exponent), pool, session.remainingMs() / 2)) });
    },
    generateEcdsaKeyPair: (curve) => bridge.newValue({ ...ccfCrypto.generateEcdsaKeyPair(str(curve)) }),
    generateEddsaKeyPair: (curve) => bridge.newValue({ ...ccfCrypto.generateEddsaKeyPair(str(curve)) }),
    wrapKey: (key, wrappingKey, name, label, aesKeySize) =>
      bridge.newBytes(asCcfFailure('Failed to wrap key: ', () => ccfCrypto.wrapKey(bytes(key), bytes(wrappingKey), wrapAlgorithm(name, label, aesKeySize)))),
    unwrapKey: (key, unwrappingKey, name, label, aesKeySize) =>
      bridge.newBytes(asCcfFailure('Failed to unwrap key: ', () => ccfCrypto.unwrapKey(bytes(key), bytes(unwrappingKey), wrapAlgorithm(name, label, aesKeySize)))),
    isValidX509CertBundle: (pem) => bool(ccfCrypto.isValidX509CertBundle(str(pem))),
    isValidX509RootCACert: (pem) => bool(ccfCrypto.isValidX509RootCACert(str(pem))),
    isValidX509CertChain: (chain, trusted) =>
      bool(ccfCrypto.isValidX509CertChain(str(chain), str(trusted), anyPhase('isValidX509CertChain').host.untrustedNowMs())),
    verifySnpAttestation: (evidence, endorsements, uvmEndorsements, endorsedTcb) => {
      const at = new Date(anyPhase('verifySnpAttestation').host.untrustedNowMs());
      const endorsedTcbHex = isUndefined(endorsedTcb) ? undefined : str(endorsedTcb);
      return asCcfFailure(
        '',
        () => {
          const report = verifySnpReport(bytes(evidence), fromUtf8(bytes(endorsements)), { at, ...(endorsedTcbHex !== undefined && { endorsedTcbHex }) });
          const uvm = isUndefined(uvmEndorsements) ? undefined : verifyUvmEndorsements(bytes(uvmEndorsements), report.measurement);
          // CCF names the platform information `plaform_info`; its declared type says `platform_info`: both.
          return bridge.newValue({ attestation: { ...report, plaform_info: report.platform_info }, ...(uvm && { uvm_endorsements: { ...uvm } }) });
        },
        'RangeError',
      );
    },
    pemToJwk: (kind, pem, isPrivate, kid) =>
      bridge.newValue(
        asCcfFailure('Failed to convert pem to jwk: ', () => ccfCrypto.pemToJwk(jwkKind(str(kind)), str(pem), flag(isPrivate), isUndefined(kid) ? undefined : str(kid))),
      ),
    // CCF's words, without a colon.
    jwkToPem: (kind, jwk, isPrivate) =>
      vm.newString(asCcfFailure('Failed to convert jwk to pem ', () => ccfCrypto.jwkToPem(jwkKind(str(kind)), parseJson(str(jwk)), flag(isPrivate)))),
  };
}

/** CCF's explanation of which maps each execution context may read and write, as its refusals cite it. */
const KV_ACCESS_RULES_URL = 'https://microsoft.github.io/CCF/main/audit/read_write_restrictions.html';

const BODY_KINDS = ['none', 'bytes', 'text', 'json'] as const;
/** The prelude's dispatch marks an invalid response with this kind, and an async function's with PENDING_KIND. */
const INVALID_KIND = -1;
const PENDING_KIND = -2;

/**
 * Reads what the prelude's dispatch returned: `[kind, statusCode, headers JSON, payload]` with
 * kind an index into BODY_KINDS and payload an ArrayBuffer (bytes, text) or JSON text, or
 * `[-1, category, reason]`.
 */
export function readEndpointResult(bridge: QuickJsBridge, handle: QuickJSHandle): DispatchOutcome {
  const vm = bridge.vm;
  const item = <T>(index: number, read: (value: QuickJSHandle) => T): T => {
    const value = vm.getProp(handle, index);
    try {
      return read(value);
    } finally {
      value.dispose();
    }
  };
  const kindIndex = item(0, (value) => vm.getNumber(value));
  if (kindIndex === INVALID_KIND) return { kind: 'invalid', category: item(1, (value) => vm.getString(value)), reason: item(2, (value) => vm.getString(value)) };
  if (kindIndex === PENDING_KIND) return { kind: 'pending' };
  const kind = BODY_KINDS[kindIndex];
  invariant(kind !== undefined, 'the prelude reports a known body kind');
  const statusCode = item(1, (value) => (vm.typeof(value) === 'number' ? vm.getNumber(value) : undefined));
  const headers = item(2, (value) => (vm.typeof(value) === 'string' ? (JSON.parse(vm.getString(value)) as Record<string, string>) : {}));
  let body: Uint8Array = new Uint8Array(0);
  if (kind === 'bytes' || kind === 'text') body = item(3, (value) => bridge.readBytes(value));
  else if (kind === 'json') body = item(3, (value) => utf8(vm.getString(value)));
  return { kind, statusCode, headers, body };
}

function jwkKind(kind: string): ccfCrypto.JwkKind {
  invariant(kind === 'ec' || kind === 'rsa' || kind === 'eddsa', 'the prelude names a known JWK family');
  return kind;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CocoError('InvalidArgument', 'expected a JWK object');
  }
}

/**
 * Runs a ccf.crypto operation and throws its failures as CCF does: a `jsName` error (InternalError
 * unless CCF says otherwise) whose message is CCF's `prefix` followed by what exactly failed. An
 * unsupported algorithm, hash or size stays the RangeError CCF throws before it tries anything.
 */
function asCcfFailure<T>(prefix: string, run: () => T, jsName: GuestError['jsName'] = 'InternalError'): T {
  try {
    return run();
  } catch (error) {
    // What CCF refuses before trying (a RangeError), and a key pair not ready in time (try again), are not failures of the operation.
    if (error instanceof CocoError && (error.code === 'UnsupportedAlgorithm' || error.code === 'RsaKeyPairNotReady')) throw error;
    throw new GuestError(jsName, prefix + (error instanceof Error ? error.message : String(error)));
  }
}
