// The node's log lines: host_level drops the lines below it (warn is CCF's Fail, error its Fatal).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureLog, logLine, LOG_SETTINGS_DEFAULT, type HostLevel } from '../../src/node/buffered-log.js';

test('host_level keeps the lines at or above it: Info all, Fail warnings and errors, Fatal errors only', (t) => {
  const written: string[] = [];
  t.mock.method(console, 'log', (line: string) => void written.push(line));
  t.mock.method(console, 'error', (line: string) => void written.push(line));
  t.after(() => configureLog(LOG_SETTINGS_DEFAULT));
  const kept = (hostLevel: HostLevel) => {
    written.length = 0;
    configureLog({ format: 'Text', hostLevel });
    for (const level of ['info', 'warn', 'error'] as const) logLine(level, level);
    return written.map((line) => line.replace(/^\S+Z \[\w+ *\] /, ''));
  };
  assert.deepEqual(kept('Trace'), ['info', 'warn', 'error']);
  assert.deepEqual(kept('Info'), ['info', 'warn', 'error']);
  assert.deepEqual(kept('Fail'), ['warn', 'error']);
  assert.deepEqual(kept('Fatal'), ['error']);
});
