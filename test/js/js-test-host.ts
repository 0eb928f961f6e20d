// Test doubles for the js layer: a JsHost whose monotonic clock advances one millisecond per read
// (so an execution deadline passes after a fixed number of interrupt checks, on any machine), with a
// fixed untrusted time and an in-memory log; helpers to build interpreters, call envs, app bundles
// installed in a store, and requests.

import { bundleToKvWrites, ENDPOINTS_MAP, MODULES_MAP, parseAppBundle, type AppBundle, type EndpointInfo } from '../../src/js/app-bundle.js';
import type { AppRequest } from '../../src/js/app-request.js';
import type { CallEnv } from '../../src/js/call-env.js';
import { JsInterpreter, type JsGlobalInstaller } from '../../src/js/interpreter.js';
import type { JsHost } from '../../src/js/js-host.js';
import type { JsLimits } from '../../src/js/js-limits.js';
import type { KvContext } from '../../src/js/kv-access.js';
import type { JsValue } from '../../src/js/js-value.js';
import { Store } from '../../src/kv/store.js';
import { buildSignatureReceipt, type Receipt } from '../../src/ledger/receipt.js';
import type { Transaction } from '../../src/kv/transaction.js';

/** 2024-01-02T03:04:05Z. */
export const TEST_UNTRUSTED_NOW_MS = Date.UTC(2024, 0, 2, 3, 4, 5);

export class TestHost implements JsHost {
  monotonicReads = 0;
  untrustedNow = TEST_UNTRUSTED_NOW_MS;
  readonly logs: { level: 'info' | 'warn' | 'error'; message: string }[] = [];
  consensus?: JsHost['consensus'];
  historical?: JsHost['historical'];
  rsaKeyPairs?: JsHost['rsaKeyPairs'];

  monotonicMs(): number {
    return this.monotonicReads++;
  }

  untrustedNowMs(): number {
    return this.untrustedNow;
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.logs.push({ level, message });
  }
}

/** Short limits for tests: a deadline of 200 interrupt checks, a 32 MiB heap. */
export const TEST_LIMITS: Partial<JsLimits> = { maxExecutionTimeMs: 200, maxHeapBytes: 32 * 1024 * 1024 };

export function modulesOf(sources: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(sources));
}

export async function interpreterWith(
  sources: Record<string, string>,
  options: { limits?: Partial<JsLimits>; installers?: JsGlobalInstaller[] } = {},
): Promise<JsInterpreter> {
  return JsInterpreter.create({ limits: { ...TEST_LIMITS, ...options.limits }, installers: options.installers, modules: modulesOf(sources) });
}

export interface TestCall {
  store: Store;
  tx: Transaction;
  host: TestHost;
  env: CallEnv;
}

/** A fresh store, one open transaction on it and an env in `kvContext`. */
export function testCall(kvContext: KvContext = 'application', store = new Store()): TestCall {
  const tx = store.beginTransaction();
  const host = new TestHost();
  return { store, tx, host, env: { host, tx, kvContext } };
}

export const text = (value: string): Uint8Array => new TextEncoder().encode(value);
export const decodeText = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** A store whose governance maps hold `bundle`, as `set_js_app` writes it, committed at seqno 1. */
export function storeWithApp(bundle: AppBundle): Store {
  const store = new Store();
  installApp(store, bundle);
  return store;
}

/** Writes `bundle` into `store` in a new transaction (replacing the previous app) and commits it. */
export function installApp(store: Store, bundle: AppBundle): void {
  const tx = store.beginTransaction();
  tx.map(MODULES_MAP).clear();
  tx.map(ENDPOINTS_MAP).clear();
  for (const write of bundleToKvWrites(bundle)) tx.map(write.map).set(write.key, write.value);
  store.commit(tx, store.version + 1n);
}

/** A bundle from module sources and endpoints given only by the fields that differ from defaults. */
export function bundleOf(modules: Record<string, string>, endpoints: Record<string, Record<string, Partial<EndpointInfo>>>): AppBundle {
  const metadata: AppBundle['metadata'] = { endpoints: {} };
  for (const [path, methods] of Object.entries(endpoints)) {
    metadata.endpoints[path] = {};
    for (const [method, info] of Object.entries(methods)) {
      metadata.endpoints[path][method] = {
        js_module: Object.keys(modules)[0] ?? '',
        js_function: method,
        authn_policies: [],
        mode: 'readwrite',
        forwarding_required: 'sometimes',
        ...info,
      };
    }
  }
  return parseAppBundle({ metadata, modules: Object.entries(modules).map(([name, module]) => ({ name, module })) });
}

/** An AppRequest with defaults for what a test does not care about. */
export function appRequest(method: string, path: string, options: Partial<AppRequest> = {}): AppRequest {
  return { method, path, query: '', headers: {}, body: new Uint8Array(0), hostname: null, caller: null, ...options };
}

/** The receipt of a signature transaction whose signed root is 32 bytes of `rootByte`, as the node passes it to the js layer. */
export function testReceipt(rootByte: number): Receipt {
  return buildSignatureReceipt({ signatureDer: new Uint8Array([0x30, 0]), nodeId: 'ab'.repeat(32), certPem: 'cert', root: new Uint8Array(32).fill(rootByte) });
}

/** What a JS app reads of testReceipt(rootByte). */
export function testJsReceipt(rootByte: number): JsValue {
  return { signature: 'MAA=', cert: 'cert', node_id: 'ab'.repeat(32), is_signature_transaction: true, root_hex: rootByte.toString(16).padStart(2, '0').repeat(32) };
}
