import assert from 'node:assert/strict';
import test from 'node:test';
import { FailureLog } from '../../src/node/failure-log.js';

test('a repeated failure is logged first, then once per interval with how many went unlogged', () => {
  const log = new FailureLog(60_000, 10);
  assert.deepEqual(log.record('10.0.0.9', 'bad certificate', 0), { attempts: 1, suppressed: 0 });
  for (let i = 1; i <= 3_000; i++) assert.equal(log.record('10.0.0.9', 'bad certificate', i), undefined);
  assert.deepEqual(log.record('10.0.0.9', 'bad certificate', 60_000), { attempts: 3_002, suppressed: 3_000 });
  assert.equal(log.record('10.0.0.9', 'bad certificate', 60_001), undefined);
  assert.deepEqual(log.record('10.0.0.9', 'bad certificate', 120_000), { attempts: 3_004, suppressed: 1 });
});

test('another key or another reason is logged at once, and a new reason starts the count again', () => {
  const log = new FailureLog(60_000, 10);
  assert.deepEqual(log.record('a', 'refused', 0), { attempts: 1, suppressed: 0 });
  assert.deepEqual(log.record('b', 'refused', 1), { attempts: 1, suppressed: 0 });
  assert.equal(log.record('a', 'refused', 2), undefined);
  assert.deepEqual(log.record('a', 'timed out', 3), { attempts: 1, suppressed: 0 });
});

test('clear forgets a key and says how many failures it had', () => {
  const log = new FailureLog(60_000, 10);
  log.record('peer', 'refused', 0);
  log.record('peer', 'refused', 1);
  assert.equal(log.clear('peer'), 2);
  assert.equal(log.clear('peer'), 0);
  assert.deepEqual(log.record('peer', 'refused', 2), { attempts: 1, suppressed: 0 });
});

test('past keysMax keys, the one counted longest ago is forgotten', () => {
  const log = new FailureLog(60_000, 2);
  log.record('first', 'refused', 0);
  log.record('second', 'refused', 1);
  log.record('third', 'refused', 2);
  assert.equal(log.clear('first'), 0);
  assert.equal(log.clear('second'), 1);
  assert.equal(log.clear('third'), 1);
});
