import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeJson, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { JS_HEAP_BYTES_MIN, JS_STACK_BYTES_MIN, QUICKJS_STACK_BYTES_MAX } from '../../src/js/js-limits.js';
import { Store } from '../../src/kv/store.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { asRpcError } from '../../src/rpc/rpc-error.js';
import { JsApp, type JsAppOptions } from '../../src/js/js-app.js';
import { JsInterpreter, type JsInterpreterOptions } from '../../src/js/interpreter.js';

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

test('a stored option the node applies otherwise is logged once per change as a warning naming both values and why', () => {
  const store = new Store();
  const lines: string[] = [];
  const runtime = new AppRuntime(500, (level, line) => lines.push(`[${level}] ${line}`));
  const setOptions = (options: Record<string, unknown>) => {
    const tx = store.beginTransaction();
    tx.map(Tables.jsRuntimeOptions).set(SINGLETON, encodeJson(options));
    store.commit(tx, store.version + 1n);
  };
  const settings = () => runtime.settingsFor(store.beginTransaction());

  assert.equal(settings().limits.maxExecutionTimeMs, 500, "nothing stored: CCF's default 5 s, held at the cap");
  assert.deepEqual(lines, [], 'nothing stored, nothing to warn of');
  setOptions({ max_heap_bytes: 100 * 2 ** 20, max_stack_bytes: 128 * 1024, max_execution_time_ms: 5000 });
  assert.equal(settings().limits.maxExecutionTimeMs, 500);
  settings();
  assert.equal(lines.length, 1, 'one line for the change, however often the settings are read');
  assert.match(lines[0]!, /^\[warn\] js_runtime_options: this node applies max_execution_time_ms 5000 as 500 \(a handler runs on the node's event loop, and one holding it past half of consensus\.election_timeout_ms would let the backups elect another primary; raise the election timeout to allow longer handlers\); GET \/node\/js_metrics shows the values in force$/);

  setOptions({ max_heap_bytes: 0, max_stack_bytes: 2 ** 20, max_execution_time_ms: 200, max_cached_interpreters: 0 });
  settings();
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /max_heap_bytes 0 as 4194304 \(the ccf global and a small app need more\); max_stack_bytes 1048576 as 262144 \(QuickJS's WebAssembly frames share Node's own stack/);
  assert.doesNotMatch(lines[1]!, /max_execution_time_ms|max_cached_interpreters/, 'values granted as stored, and 0 interpreters (CCF: the default), are not held');

  setOptions({ max_heap_bytes: 100 * 2 ** 20, max_stack_bytes: 128 * 1024, max_execution_time_ms: 200 });
  settings();
  assert.equal(lines.length, 2, 'options granted as stored: no warning');
});

test('a failed creation of the app is not kept: the next request creates it again, and the failure and the recovery are each logged once', async () => {
  const lines: string[] = [];
  let failuresLeft = 2;
  // Each creation fails, while failures are left, at its second interpreter: as under an address-space limit.
  const createApp = (options: JsAppOptions) => {
    let made = 0;
    const createInterpreter = async (interpreterOptions: JsInterpreterOptions) => {
      made += 1;
      if (made === 2 && failuresLeft > 0) {
        failuresLeft -= 1;
        throw new RangeError('WebAssembly.Memory(): could not allocate memory');
      }
      return JsInterpreter.create(interpreterOptions);
    };
    return JsApp.create({ ...options, createInterpreter });
  };
  const runtime = new AppRuntime(500, (level, line) => lines.push(`[${level}] ${line}`), createApp);
  const settings = runtime.settingsFor(new Store().beginTransaction());

  for (let attempt = 1; attempt <= 2; attempt++) {
    await assert.rejects(runtime.appFor(settings), (error: unknown) => {
      const answer = asRpcError(error);
      assert.equal(answer.status, 503, `attempt ${attempt}`);
      assert.equal(answer.code, 'JsUnavailable');
      return true;
    });
  }
  const app = await runtime.appFor(settings);
  assert.ok(app instanceof JsApp, 'the third request gets the app');
  assert.equal(await runtime.appFor(settings), app, 'and it is kept');
  runtime.dispose();

  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0]!, /^\[error\] js: the app's interpreters could not be created \(RangeError: WebAssembly\.Memory\(\): could not allocate memory\): app requests are answered 503 JsUnavailable, each trying again; each WebAssembly memory .* reserves about 10 GB of virtual address space, .*remove it and bound the node's memory with a cgroup/);
  assert.equal(lines[1], "[info] js: the app's interpreters were created after 2 failed attempts; app requests are served again");
});
