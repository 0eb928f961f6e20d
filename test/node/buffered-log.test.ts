// The node's log lines: host_level drops the lines below it (warn is CCF's Fail, error its Fatal).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferedLog, configureLog, logLine, logReadinessLine, LOG_SETTINGS_DEFAULT, messageOfLogLine, type HostLevel } from '../../src/node/buffered-log.js';

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

test('the lines saying a node serves are written at every host_level, in either format', (t) => {
  const written: string[] = [];
  t.mock.method(console, 'log', (line: string) => void written.push(line));
  t.after(() => configureLog(LOG_SETTINGS_DEFAULT));
  configureLog({ format: 'Json', hostLevel: 'Fatal' });
  logLine('info', 'an info line');
  logReadinessLine('coco node: ready');
  assert.equal(written.length, 1, written.join('\n'));
  assert.equal((JSON.parse(written[0]!) as { msg: string }).msg, 'coco node: ready');
});

test("a log line's message is found in either format: after the Text time and level, or a Json record's msg", (t) => {
  const written: string[] = [];
  t.mock.method(console, 'error', (line: string) => void written.push(line));
  t.after(() => configureLog(LOG_SETTINGS_DEFAULT));
  for (const format of ['Text', 'Json'] as const) {
    configureLog({ format, hostLevel: 'Info' });
    logLine('error', 'coco: the ledger directory is full [DiskFull]');
  }
  assert.deepEqual(written.map(messageOfLogLine), ['coco: the ledger directory is full [DiskFull]', 'coco: the ledger directory is full [DiskFull]']);
  assert.equal(messageOfLogLine('{not json'), '{not json');
  assert.equal(messageOfLogLine('a line of another program'), 'a line of another program');
});

test('a line written at once comes after the batched lines logged before it, so the log reads in time order', (t) => {
  const chunks: string[] = [];
  t.mock.method(process.stdout, 'write', (chunk: string) => {
    chunks.push(chunk);
    return true;
  });
  const log = new BufferedLog();
  log.line('info', 'first, batched');
  logLine('info', 'second, at once');
  log.line('info', 'third, batched');
  log.flush();
  const messages = chunks.join('').trimEnd().split('\n').map(messageOfLogLine);
  assert.deepEqual(messages, ['first, batched', 'second, at once', 'third, batched']);
});
