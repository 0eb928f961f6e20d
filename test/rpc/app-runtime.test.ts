import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeJson, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { JS_HEAP_BYTES_MIN, JS_STACK_BYTES_MIN, QUICKJS_STACK_BYTES_MAX } from '../../src/js/js-limits.js';
import { Store } from '../../src/kv/store.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';

function settingsAfter(options: Record<string, unknown>, capMs = 60_000) {
  const store = new Store();
  const tx = store.beginTransaction();
  tx.map(Tables.jsRuntimeOptions).set(SINGLETON, encodeJson(options));
  return new AppRuntime(capMs).settingsFor(tx);
}

test('limits CCF accepts but this runtime cannot grant are held at the nearest it can: zero and negative too', () => {
  assert.deepEqual(settingsAfter({ max_heap_bytes: 0, max_stack_bytes: -1, max_execution_time_ms: 0 }).limits, {
    maxHeapBytes: JS_HEAP_BYTES_MIN,
    maxStackBytes: JS_STACK_BYTES_MIN,
    maxExecutionTimeMs: 1,
  });
  assert.deepEqual(settingsAfter({ max_heap_bytes: 50 * 2 ** 20, max_stack_bytes: 2 ** 30, max_execution_time_ms: 9_000 }, 500).limits, {
    maxHeapBytes: 50 * 2 ** 20,
    maxStackBytes: QUICKJS_STACK_BYTES_MAX,
    maxExecutionTimeMs: 500,
  });
});
