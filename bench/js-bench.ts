// JS app runtime benchmark, in one process without HTTP: the logging sample's `POST /log/private`
// through a node's JsApp, in a fresh interpreter per request (CCF's default: no
// `interpreter_reuse`) against the sample as shipped, whose endpoints reuse one interpreter (the
// reference). Also what the first request after an app change pays: loading the app (compiling its
// modules and taking the interpreter's memory image).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/cli/node-process.js';
import { bundleToKvWrites, ENDPOINTS_MAP, MODULES_MAP, parseAppBundle, type AppBundle } from '../src/js/app-bundle.js';
import type { AppRequest } from '../src/js/app-request.js';
import { JsApp } from '../src/js/js-app.js';
import type { JsHost } from '../src/js/js-host.js';
import { Store } from '../src/kv/store.js';
import { progress } from './measure.js';

const WARMUP = 300;
const REQUESTS = 3_000;
const APP_LOADS = 40;

const host: JsHost = {
  monotonicMs: () => performance.now(),
  untrustedNowMs: () => Date.now(),
  log: () => {},
};

const caller = { policy: 'user_cert', id: 'a1'.repeat(32), data: null, cert: '' };

function request(i: number): AppRequest {
  const body = new TextEncoder().encode(JSON.stringify({ id: i % 1000, msg: `benchmark message number ${i}` }));
  return { method: 'POST', path: '/app/log/private', query: '', headers: { 'content-type': 'application/json' }, body, hostname: 'localhost', caller };
}

function storeWith(bundle: AppBundle): Store {
  const store = new Store();
  const tx = store.beginTransaction();
  tx.map(MODULES_MAP).clear();
  tx.map(ENDPOINTS_MAP).clear();
  for (const write of bundleToKvWrites(bundle)) tx.map(write.map).set(write.key, write.value);
  store.commit(tx, 1n);
  return store;
}

interface Cost {
  cpuMicros: number;
  wallMicros: number;
}

/** CPU and wall time per call of `run(i)`, after a warm-up. */
function costOf(count: number, run: (i: number) => void): Cost {
  for (let i = 0; i < WARMUP; i++) run(i);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < count; i++) run(i);
  const used = process.cpuUsage(cpu);
  return { cpuMicros: (used.user + used.system) / count, wallMicros: ((performance.now() - start) * 1000) / count };
}

async function requestCost(bundle: AppBundle, versionKey: (i: number) => string, count: number): Promise<Cost> {
  const store = storeWith(bundle);
  const app = await JsApp.create();
  try {
    return costOf(count, (i) => {
      const tx = store.beginTransaction();
      const response = app.invoke(versionKey(i), request(i), tx, host);
      if (response.statusCode !== 200) throw new Error(`the logging sample answered ${response.statusCode}`);
      tx.abort();
    });
  } finally {
    app.dispose();
  }
}

export async function runJsBench(): Promise<string> {
  const shipped = parseAppBundle(JSON.parse(readFileSync(join(PACKAGE_ROOT, 'samples', 'logging', 'dist', 'bundle.json'), 'utf8')));
  const fresh: AppBundle = structuredClone(shipped);
  for (const methods of Object.values(fresh.metadata.endpoints)) for (const info of Object.values(methods)) delete info.interpreter_reuse;
  progress(`js bench: ${REQUESTS} requests with interpreter_reuse (reference)`);
  const reused = await requestCost(shipped, () => 'v1', REQUESTS);
  progress(`js bench: ${REQUESTS} requests in a fresh interpreter each`);
  const each = await requestCost(fresh, () => 'v1', REQUESTS);
  progress(`js bench: ${APP_LOADS} app changes, each followed by one request`);
  const loads = await requestCost(fresh, (i) => `v${i}`, APP_LOADS);
  const micros = (value: number) => Math.round(value).toLocaleString('en-US');
  return [
    '### JS app runtime: the logging sample\'s POST /log/private in one process',
    '',
    '| interpreter | CPU µs per request | wall µs per request | CPU / reference |',
    '| --- | --- | --- | --- |',
    `| reused, \`interpreter_reuse\` (reference) | ${micros(reused.cpuMicros)} | ${micros(reused.wallMicros)} | 1.0 |`,
    `| fresh per request (CCF's default) | ${micros(each.cpuMicros)} | ${micros(each.wallMicros)} | ${(each.cpuMicros / reused.cpuMicros).toFixed(1)} |`,
    `| first request after an app change | ${micros(loads.cpuMicros)} | ${micros(loads.wallMicros)} | ${(loads.cpuMicros / reused.cpuMicros).toFixed(1)} |`,
    '',
  ].join('\n');
}
