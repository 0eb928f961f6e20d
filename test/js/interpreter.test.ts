import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocoError } from '../../src/errors.js';
import { JsExceptionError } from '../../src/js/js-exception.js';
import { JsInterpreter, type ArgsBuilder, type JsGlobalInstaller } from '../../src/js/interpreter.js';
import { QUICKJS_STACK_BYTES_MAX } from '../../src/js/js-limits.js';
import { interpreterWith, modulesOf, TEST_LIMITS, testCall, text, type TestHost } from './js-test-host.js';

function rejectsWithCode(fn: () => unknown, code: string, message?: RegExp): CocoError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CocoError, `expected a CocoError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

test('call passes JSON and byte arguments and returns the result as JsValues', async () => {
  const js = await interpreterWith({
    '/main.js': `export function echo(a, b, c) {
      return { a, sum: b.x + b.y, bytes: c, length: c.byteLength, view: new Uint8Array([7, 8]), nothing: null };
    }`,
  });
  const { env } = testCall();
  const result = js.call('/main.js', 'echo', ['str', { x: 1, y: 2 }, new Uint8Array([1, 2, 3])], env);
  assert.deepEqual(result, { a: 'str', sum: 3, bytes: new Uint8Array([1, 2, 3]), length: 3, view: new Uint8Array([7, 8]), nothing: null });
  js.dispose();
});

test('call returns undefined, numbers, strings and booleans as they are', async () => {
  const js = await interpreterWith({ '/m.js': 'export const u = () => undefined; export const n = () => 4.5; export const s = () => "x"; export const b = () => false;' });
  const { env } = testCall();
  assert.equal(js.call('/m.js', 'u', [], env), undefined);
  assert.equal(js.call('/m.js', 'n', [], env), 4.5);
  assert.equal(js.call('/m.js', 's', [], env), 'x');
  assert.equal(js.call('/m.js', 'b', [], env), false);
  js.dispose();
});

test('call accepts a builder that creates the argument handles itself', async () => {
  const js = await interpreterWith({ '/m.js': 'export function f(a, b) { return typeof a + ":" + b.k; }' });
  const { env } = testCall();
  const result = js.call('/m.js', 'f', (vm) => [vm.newNumber(1), vm.unwrapResult(vm.evalCode('({ k: "v" })'))], env);
  assert.equal(result, 'number:v');
  js.dispose();
});

test('modules import each other by relative and root paths, and a shared module is evaluated once', async () => {
  const js = await interpreterWith({
    '/endpoints/all.js': `import { add } from "../lib/math.js"; import { count } from "./local.js"; import { evaluations } from "lib/math.js";
      export function run() { return [add(2, 3), count(), evaluations()]; }`,
    '/endpoints/local.js': `import { evaluations } from "/lib/math.js"; let n = 0; export function count() { return ++n + evaluations() * 100; }`,
    '/lib/math.js': `let evaluated = 0; evaluated++; export const add = (a, b) => a + b; export const evaluations = () => evaluated;`,
  });
  const { env } = testCall();
  assert.deepEqual(js.call('/endpoints/all.js', 'run', [], env), [5, 101, 1]);
  assert.deepEqual(js.call('/endpoints/all.js', 'run', [], env), [5, 102, 1]);
  js.dispose();
});

test('an import of a module that is not in the bundle fails with a JsModuleError naming it', async () => {
  const js = await interpreterWith({ '/a.js': 'import { x } from "./missing.js"; export const f = () => x;', '/b.js': 'import * as app from "@microsoft/ccf-app"; export const f = () => app;' });
  const { env } = testCall();
  rejectsWithCode(() => js.call('/a.js', 'f', [], env), 'JsModuleError', /"\.\/missing\.js" imported by "\/a\.js" resolves to "\/missing\.js", which is not in the app bundle/);
  rejectsWithCode(() => js.call('/b.js', 'f', [], env), 'JsModuleError', /bundle them into the app/);
  js.dispose();
});

test('a missing module, a missing export and an export that is no function are JsModuleErrors', async () => {
  const js = await interpreterWith({ '/a.js': 'export const value = 1; export function f() { return 1; }' });
  const { env } = testCall();
  rejectsWithCode(() => js.call('/nope.js', 'f', [], env), 'JsModuleError', /module "\/nope\.js" is not in the app bundle/);
  rejectsWithCode(() => js.call('/a.js', 'g', [], env), 'JsModuleError', /^Failed to find export 'g' in module '\/a\.js'$/);
  rejectsWithCode(() => js.call('/a.js', 'value', [], env), 'JsModuleError', /^Export 'value' of module '\/a\.js' is not a function$/);
  assert.equal(js.call('/a.js', 'f', [], env), 1);
  js.dispose();
});

test('a syntax error or an exception at module top level is a JsModuleError with the JS details', async () => {
  const js = await interpreterWith({ '/syntax.js': 'export function f( {', '/throws.js': 'throw new RangeError("top level failed"); export const f = () => 1;' });
  const { env } = testCall();
  const syntax = rejectsWithCode(() => js.call('/syntax.js', 'f', [], env), 'JsModuleError', /SyntaxError/);
  assert.ok(syntax instanceof JsExceptionError);
  const thrown = rejectsWithCode(() => js.call('/throws.js', 'f', [], env), 'JsModuleError', /RangeError: top level failed/);
  assert.ok(thrown instanceof JsExceptionError && thrown.jsName === 'RangeError' && thrown.jsMessage === 'top level failed');
  js.dispose();
});

test('load rejects relative module names', async () => {
  const js = await JsInterpreter.create();
  rejectsWithCode(() => js.load(modulesOf({ 'main.js': '' })), 'JsModuleError', /must be absolute, like "\/main\.js"/);
  js.dispose();
});

test('an uncaught exception is a JsException carrying the JS name, message and stack of app frames', async () => {
  const js = await interpreterWith({ '/app.js': 'function inner() { throw new TypeError("bad input"); }\nexport function outer() { inner(); }' });
  const { env } = testCall();
  const error = rejectsWithCode(() => js.call('/app.js', 'outer', [], env), 'JsException', /"\/app\.js" export "outer" threw TypeError: bad input/);
  assert.ok(error instanceof JsExceptionError);
  assert.equal(error.jsName, 'TypeError');
  assert.equal(error.jsMessage, 'bad input');
  // CCF's form: the module's bundle name and the line.
  assert.equal(error.jsStack, '    at inner (app.js:1)\n    at outer (app.js:2)\n');
  js.dispose();
});

test("a syntax error's trace names the module by its bundle name and the line, as CCF's", async () => {
  const js = await interpreterWith({ '/dir/app.js': 'export function f() {\n  return 1 +;\n}' });
  const error = rejectsWithCode(() => js.call('/dir/app.js', 'f', [], testCall().env), 'JsModuleError', /SyntaxError/);
  assert.ok(error instanceof JsExceptionError);
  assert.equal(error.jsStack, '    at dir/app.js:2\n');
  js.dispose();
});

test('throwing a value that is not an Error is a JsException with that value as message', async () => {
  const js = await interpreterWith({ '/app.js': 'export function s() { throw "plain"; } export function o() { throw { code: 7 }; }' });
  const { env } = testCall();
  const plain = rejectsWithCode(() => js.call('/app.js', 's', [], env), 'JsException', /threw plain$/);
  assert.ok(plain instanceof JsExceptionError && plain.jsName === '' && plain.jsStack === undefined);
  rejectsWithCode(() => js.call('/app.js', 'o', [], env), 'JsException', /threw \{"code":7\}/);
  js.dispose();
});

test('an infinite loop ends with JsExecutionTimeout and CCF message, and the next call works', async () => {
  const js = await interpreterWith({
    '/app.js': `let calls = 0;
      export function spin() { calls++; for (;;) {} }
      export function spinCatching() { for (;;) { try { for (;;) {} } catch (e) {} } }
      export function count() { return calls; }`,
  });
  const { env } = testCall();
  rejectsWithCode(() => js.call('/app.js', 'spin', [], env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  rejectsWithCode(() => js.call('/app.js', 'spinCatching', [], env), 'JsExecutionTimeout');
  assert.equal(js.call('/app.js', 'count', [], env), 1);
  js.dispose();
});

test('a loop of slow host calls stops at the first call past the time limit, even when the app catches the refusal', async () => {
  let calls = 0;
  // A host function that takes a second of the clock each time (as RSA key generation may).
  const slow: JsGlobalInstaller = ({ vm, ccf, defineFunction }) => {
    const node = vm.newObject();
    defineFunction(node, 'slow', (env) => {
      calls++;
      (env.host as TestHost).monotonicReads += 1_000;
      return undefined;
    });
    vm.setProp(ccf, 'node', node);
    node.dispose();
  };
  const js = await interpreterWith(
    {
      '/app.js': `export function loop() { for (;;) ccf.node.slow(); }
        export function swallow() { for (let i = 0; i < 3; i++) { try { ccf.node.slow(); } catch (e) {} } return "done"; }
        export function digests() { const b = new ArrayBuffer(16); for (;;) ccf.crypto.digest("SHA-256", b); }`,
    },
    { installers: [slow] },
  );
  const { env, host } = testCall();
  // QuickJS asks its interrupt handler every few thousand steps: without the check at each host call, thousands of calls ran.
  rejectsWithCode(() => js.call('/app.js', 'loop', [], env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  assert.equal(calls, 1, 'the call that passed the limit was the last');
  calls = 0;
  rejectsWithCode(() => js.call('/app.js', 'swallow', [], env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  assert.equal(calls, 1, 'a caught refusal does not let the call go on as if in time');
  // The ccf global's own functions are checked too: each reads the clock once.
  const readsBefore = host.monotonicReads;
  rejectsWithCode(() => js.call('/app.js', 'digests', [], env), 'JsExecutionTimeout');
  assert.ok(host.monotonicReads - readsBefore <= 202, `${host.monotonicReads - readsBefore} clock reads for a 200 ms limit`);
  js.dispose();
});

test('an infinite loop at module top level ends with JsExecutionTimeout too', async () => {
  const js = await interpreterWith({ '/app.js': 'while (true) {} export const f = () => 1;' });
  const { env } = testCall();
  rejectsWithCode(() => js.call('/app.js', 'f', [], env), 'JsExecutionTimeout');
  js.dispose();
});

test('the deadline follows the host monotonic clock: each call gets maxExecutionTimeMs afresh', async () => {
  const js = await interpreterWith({ '/app.js': 'export function work(n) { let x = 0; for (let i = 0; i < n; i++) x += i; return x; }' });
  const { env, host } = testCall();
  // One million loop iterations need far fewer than 200 interrupt checks (each advances the clock 1 ms).
  for (let i = 0; i < 3; i++) assert.equal(js.call('/app.js', 'work', [1_000_000], env), 499999500000);
  const readsBefore = host.monotonicReads;
  rejectsWithCode(() => js.call('/app.js', 'work', [1e12], env), 'JsExecutionTimeout');
  assert.ok(host.monotonicReads - readsBefore > 200, 'the interrupt handler read the clock past the deadline');
  js.dispose();
});

test('the time the host takes to make the arguments of a call is not counted against its limit, and the work of the script is', async () => {
  // console.log is a host call, which checks the limit as it starts.
  const js = await interpreterWith({ '/app.js': 'export function length(text) { console.log(text); return text.length; } export function spin(text) { for (;;) {} }' });
  const { env, host } = testCall();
  // A builder that "takes" a hundred times the limit on the host's clock, as marshalling a large proposal did for a ballot's share.
  const slowArgs: ArgsBuilder = (vm) => {
    host.monotonicReads += 100 * TEST_LIMITS.maxExecutionTimeMs!;
    return [vm.newString('a large proposal')];
  };
  assert.equal(js.call('/app.js', 'length', slowArgs, env), 16);
  rejectsWithCode(() => js.call('/app.js', 'spin', slowArgs, env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  js.dispose();
});

test('a huge allocation ends with JsOutOfMemory and the interpreter stays usable', async () => {
  const js = await interpreterWith(
    {
      '/app.js': `export function huge() { return new ArrayBuffer(1e9).byteLength; }
        export function grow() { const all = []; for (;;) all.push(new Array(100000).fill(1)); }
        export function small() { const all = []; for (let i = 0; i < 3e6; i++) all.push({ i }); return all.length; }
        export function throwNull() { throw null; }
        export function ok() { return "ok"; }`,
    },
    { limits: { maxHeapBytes: 16 * 1024 * 1024 } },
  );
  const { env } = testCall();
  rejectsWithCode(() => js.call('/app.js', 'huge', [], env), 'JsOutOfMemory', /limited to 16777216 bytes/);
  rejectsWithCode(() => js.call('/app.js', 'grow', [], env), 'JsOutOfMemory');
  // Many small objects: QuickJS may have no room left even for its error, and throws null; the message says what that may mean.
  const nullHint = /threw null \(if it allocates much: QuickJS throws null when the heap, limited to 16777216 bytes, has no room even for its out-of-memory error\)/;
  assert.throws(() => js.call('/app.js', 'small', [], env), (error: unknown) => error instanceof CocoError && (error.code === 'JsOutOfMemory' || nullHint.test(error.message)));
  rejectsWithCode(() => js.call('/app.js', 'throwNull', [], env), 'JsException', nullHint);
  assert.equal(js.call('/app.js', 'ok', [], env), 'ok');
  assert.ok(js.memoryUsage().linearMemoryBytes <= (16 + 16) * 1024 * 1024, 'the WebAssembly memory stays within the heap limit');
  js.dispose();
});

test('unbounded recursion ends with JsStackOverflow and the interpreter stays usable', async () => {
  const js = await interpreterWith({
    '/app.js': `export function recurse(n) { return recurse(n + 1) + 1; }
      export function viaCallbacks(n) { return [1].map(() => viaCallbacks(n + 1))[0]; }
      export function depth(n) { return n === 0 ? 0 : 1 + depth(n - 1); }`,
  });
  const { env } = testCall();
  rejectsWithCode(() => js.call('/app.js', 'recurse', [0], env), 'JsStackOverflow', new RegExp(`${QUICKJS_STACK_BYTES_MAX} bytes`));
  rejectsWithCode(() => js.call('/app.js', 'viaCallbacks', [0], env), 'JsStackOverflow');
  assert.equal(js.call('/app.js', 'depth', [500], env), 500);
  assert.equal(js.isUsable, true);
  js.dispose();
});

test('apps are isolated from Node: no process, require, modules of Node, timers or network', async () => {
  const js = await interpreterWith({
    '/app.js': `export function probe() {
      return [typeof process, typeof require, typeof module, typeof fetch, typeof setTimeout, typeof globalThis.std, typeof globalThis.os, typeof XMLHttpRequest];
    }`,
    '/fs.js': 'import * as fs from "node:fs"; export const f = () => fs;',
  });
  const { env } = testCall();
  assert.deepEqual(js.call('/app.js', 'probe', [], env), Array(8).fill('undefined'));
  rejectsWithCode(() => js.call('/fs.js', 'f', [], env), 'JsModuleError', /"node:fs"/);
  js.dispose();
});

test('load starts from a fresh context: module state and globals are gone', async () => {
  const js = await interpreterWith({ '/app.js': 'let n = 0; export function next() { globalThis.leak = true; return ++n; }' });
  const { env } = testCall();
  assert.equal(js.call('/app.js', 'next', [], env), 1);
  assert.equal(js.call('/app.js', 'next', [], env), 2);
  js.load(modulesOf({ '/app.js': 'let n = 10; export function next() { return [++n, typeof globalThis.leak]; }' }));
  assert.deepEqual(js.call('/app.js', 'next', [], env), [11, 'undefined']);
  js.dispose();
});

test('reset of a resettable load undoes what calls did: module state, globals, prototypes, ccf', async () => {
  const js = await JsInterpreter.create({ limits: TEST_LIMITS });
  js.load(
    modulesOf({
      '/app.js': `import { evaluations } from "./lib.js";
        let n = 0;
        export function dirty() {
          globalThis.leak = 1; Object.prototype.isAdmin = true; Array.prototype.push = null;
          delete globalThis.JSON; delete ccf.kv; delete ccf.strToBuf; globalThis.ccf = undefined;
          return ++n;
        }
        export function probe() {
          return [++n, evaluations(), typeof globalThis.leak, ({}).isAdmin ?? null, [].push !== null, typeof JSON, ccf.bufToStr(ccf.strToBuf("ok")), typeof ccf.kv];
        }`,
      '/lib.js': 'let count = 0; count++; export const evaluations = () => count;',
    }),
    { resettable: true },
  );
  const { env } = testCall();
  for (let round = 0; round < 3; round++) {
    assert.equal(js.call('/app.js', 'dirty', [], env), 1);
    js.reset();
    assert.deepEqual(js.call('/app.js', 'probe', [], env), [1, 1, 'undefined', null, true, 'object', 'ok', 'object'], 'module top levels run again, once');
    js.reset();
  }
  js.dispose();
});

test('reset after a timeout, an out-of-memory and a stack overflow leaves the interpreter as loaded', async () => {
  const js = await JsInterpreter.create({ limits: { ...TEST_LIMITS, maxExecutionTimeMs: 50, maxHeapBytes: 8 * 1024 * 1024 } });
  js.load(
    modulesOf({
      '/app.js': `let n = 0;
        export const spin = () => { n++; for (;;) {} };
        export const hog = () => { n++; const parts = []; for (;;) parts.push("x".repeat(1024 * 1024) + parts.length); };
        export const deep = () => { n++; const f = (i) => f(i + 1) + 1; return f(0); };
        export const count = () => ++n;`,
    }),
    { resettable: true },
  );
  const { env } = testCall();
  for (const [fn, code] of [['spin', 'JsExecutionTimeout'], ['hog', 'JsOutOfMemory'], ['deep', 'JsStackOverflow']] as const) {
    rejectsWithCode(() => js.call('/app.js', fn, [], env), code);
    js.reset();
    assert.equal(js.call('/app.js', 'count', [], env), 1, `after ${code}`);
    js.reset();
  }
  js.dispose();
});

test('a resettable load whose module does not compile fails each call with the error, and resets', async () => {
  const js = await JsInterpreter.create({ limits: TEST_LIMITS });
  js.load(modulesOf({ '/app.js': 'export function f( {', '/ok.js': 'let n = 0; export const g = () => ++n;' }), { resettable: true });
  const { env } = testCall();
  for (let round = 0; round < 2; round++) {
    rejectsWithCode(() => js.call('/app.js', 'f', [], env), 'JsModuleError', /SyntaxError/);
    assert.equal(js.call('/ok.js', 'g', [], env), 1);
    js.reset();
  }
  js.dispose();
});

test('reset needs a resettable load; load and unload work from any state', async () => {
  const js = await JsInterpreter.create({ limits: TEST_LIMITS });
  const { env } = testCall();
  js.load(modulesOf({ '/app.js': 'let n = 0; export const f = () => ++n;' }));
  assert.equal(js.call('/app.js', 'f', [], env), 1);
  assert.throws(() => js.reset(), /only a resettable load can be reset/);
  js.unload();
  rejectsWithCode(() => js.call('/app.js', 'f', [], env), 'JsModuleError', /no modules loaded/);
  js.load(modulesOf({ '/app.js': 'let n = 5; export const f = () => ++n;' }), { resettable: true });
  assert.equal(js.call('/app.js', 'f', [], env), 6);
  js.reset();
  assert.equal(js.call('/app.js', 'f', [], env), 6);
  js.dispose();
});

test('QuickJS heap and WebAssembly memory stay bounded over 100,000 calls', async () => {
  const js = await interpreterWith({
    '/app.js': `const map = ccf.kv["records"];
      export function step(i, bytes) {
        map.set(ccf.strToBuf("k" + (i % 10)), bytes);
        const value = map.get(ccf.strToBuf("k" + (i % 10)));
        return { i, text: ccf.bufToStr(value), list: [i, "x".repeat(i % 50)] };
      }`,
  });
  const { env } = testCall();
  const bytes = text('payload');
  const run = (from: number, to: number) => {
    for (let i = from; i < to; i++) assert.equal((js.call('/app.js', 'step', [i, bytes], env) as { i: number }).i, i);
  };
  run(0, 1000);
  const before = js.memoryUsage();
  run(1000, 100_000);
  const after = js.memoryUsage();
  assert.ok(after.heapBytes - before.heapBytes < 64 * 1024, `heap grew from ${before.heapBytes} to ${after.heapBytes} bytes`);
  assert.ok(after.allocations - before.allocations < 100, `live allocations grew from ${before.allocations} to ${after.allocations}`);
  assert.ok(after.linearMemoryBytes - before.linearMemoryBytes <= 1024 * 1024, `memory grew from ${before.linearMemoryBytes} to ${after.linearMemoryBytes}`);
  js.dispose(); // QuickJS aborts when objects are still referenced: this also checks that no handle leaked
});

test('a disposed interpreter refuses calls; limits out of range are refused at creation', async () => {
  const js = await interpreterWith({ '/a.js': 'export const f = () => 1;' });
  js.dispose();
  const { env } = testCall();
  rejectsWithCode(() => js.call('/a.js', 'f', [], env), 'JsInterpreterDisposed');
  await assert.rejects(JsInterpreter.create({ limits: { maxExecutionTimeMs: 0 } }), (error: CocoError) => error.code === 'InvalidJsLimits' && /maxExecutionTimeMs/.test(error.message));
  await assert.rejects(JsInterpreter.create({ limits: { maxHeapBytes: 1.5 } }), (error: CocoError) => error.code === 'InvalidJsLimits' && /maxHeapBytes/.test(error.message));
  await assert.rejects(JsInterpreter.create({ limits: { maxStackBytes: 1024 } }), (error: CocoError) => error.code === 'InvalidJsLimits');
});

test('extra global installers add host functions that see the running call env', async () => {
  interface Effects {
    rekeys: number;
    chunks: unknown[];
  }
  const governance: JsGlobalInstaller = ({ vm, ccf, defineFunction, currentEnv }) => {
    const node = vm.newObject();
    defineFunction(node, 'triggerLedgerRekey', (env) => {
      (env.extension as Effects).rekeys++;
      return undefined;
    });
    defineFunction(node, 'record', (env, args) => {
      (env.extension as Effects).chunks.push(args);
      return { seen: args.length, first: args[0] ?? null, context: env.kvContext };
    });
    vm.setProp(ccf, 'node', node);
    node.dispose();
    assert.throws(() => currentEnv(), /only be used while the interpreter runs a call/);
  };
  const js = await interpreterWith(
    {
      '/constitution.js': `export function apply() {
        ccf.node.triggerLedgerRekey();
        const r = ccf.node.record(new Uint8Array([1, 2]).buffer, { a: [1, "b"] }, undefined, true);
        return r;
      }`,
    },
    { installers: [governance] },
  );
  const effects: Effects = { rekeys: 0, chunks: [] };
  const { env } = testCall('governance-apply');
  const result = js.call('/constitution.js', 'apply', [], { ...env, extension: effects });
  assert.deepEqual(result, { seen: 4, first: new Uint8Array([1, 2]), context: 'governance-apply' });
  assert.deepEqual(effects, { rekeys: 1, chunks: [[new Uint8Array([1, 2]), { a: [1, 'b'] }, undefined, true]] });
  js.dispose();
});

test('a value the host passes into a full heap is an out-of-memory error, and the interpreter stays sound', async () => {
  const js = await JsInterpreter.create({ limits: { ...TEST_LIMITS, maxHeapBytes: 8 * 1024 * 1024 } });
  js.load(
    modulesOf({
      '/app.js': `let hoard = [];
        // Down to 64 KiB blocks only: a heap exhausted to its last bytes makes QuickJS itself fail.
        export function fill() {
          for (let size = 1 << 20; size >= 1 << 16; ) {
            try { hoard.push(new ArrayBuffer(size)); } catch { size >>= 1; }
          }
          return hoard.length;
        }
        export function take(value) { return typeof value === "string" ? value.length : value.byteLength; }
        export function catches() {
          const map = ccf.kv["records"];
          map.set(ccf.strToBuf("k"), new Uint8Array(300000).fill(65).buffer);
          fill();
          try { return map.get(ccf.strToBuf("k")).byteLength; } catch (e) { return String(e); }
        }`,
    }),
    { resettable: true },
  );
  const { env } = testCall();
  const large = 'x'.repeat(300_000);
  js.call('/app.js', 'fill', [], env);
  rejectsWithCode(() => js.call('/app.js', 'take', [large], env), 'JsOutOfMemory', /no room for a value the host passed in/);
  assert.equal(js.hostHeapExhausted, true);
  js.reset();
  assert.equal(js.hostHeapExhausted, false, 'the image holds the reserve again');
  assert.equal(js.call('/app.js', 'take', [large], env), 300_000);
  // Inside a host function: JS gets QuickJS's own error, and may catch it.
  assert.equal(js.call('/app.js', 'catches', [], env), 'InternalError: out of memory');
  assert.equal(js.hostHeapExhausted, true);
  js.reset();
  assert.equal(js.call('/app.js', 'take', [new Uint8Array(300_000)], env), 300_000);
  js.dispose();
});

test('a module top level that awaits a promise chain past the time limit is a timeout, not a promise that never settles', async () => {
  const js = await interpreterWith({
    '/app.js': 'let n = 0; async function loop() { for (;;) { n++; await null; } } await loop(); export const count = () => n;',
    '/short.js': 'let n = 0; async function loop() { while (n < 50) { n++; await null; } } await loop(); export const count = () => n;',
    // The interrupted callback only rejects a promise nobody awaits: the awaited one stays pending.
    '/swallowed.js': 'await new Promise(() => { Promise.resolve().then(() => { for (;;) {} }); }); export const count = () => 0;',
  });
  const { env } = testCall();
  assert.equal(js.call('/short.js', 'count', [], env), 50);
  rejectsWithCode(() => js.call('/app.js', 'count', [], env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  rejectsWithCode(() => js.call('/swallowed.js', 'count', [], env), 'JsExecutionTimeout', /^Operation took too long to complete\.$/);
  js.dispose();
});
