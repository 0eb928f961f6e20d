import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSessionCaps, openFilesLimit, SESSION_DESCRIPTOR_HEADROOM } from '../../src/cli/session-descriptor-budget.js';

const CCF_DEFAULTS = { soft: 1000, hard: 1010 };

test('the soft open-file limit is read from /proc/self/limits; unlimited or absent is none', () => {
  const limits = (soft: string, hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax processes             63704                63704                processes\nMax open files            ${soft}                 ${hard}                 files\n`;
  assert.equal(openFilesLimit(limits('1024', '4096')), 1024);
  assert.equal(openFilesLimit(limits('unlimited', 'unlimited')), undefined);
  assert.equal(openFilesLimit('Limit  Soft Limit  Hard Limit  Units\n'), undefined);
});

const cases: { name: string; configured: Record<string, { soft: number; hard: number }>; openFiles: number | undefined; caps: Record<string, { soft: number; hard: number }> }[] = [
  { name: 'caps that fit are kept', configured: { rpc: CCF_DEFAULTS }, openFiles: 1010 + 384, caps: { rpc: CCF_DEFAULTS } },
  { name: 'no known limit keeps the caps', configured: { rpc: CCF_DEFAULTS }, openFiles: undefined, caps: { rpc: CCF_DEFAULTS } },
  { name: "CCF's defaults under 1024: the hard cap takes what is left, the soft cap in proportion", configured: { rpc: CCF_DEFAULTS }, openFiles: 1024, caps: { rpc: { soft: 633, hard: 640 } } },
  { name: 'a soft cap under the new hard cap stays', configured: { rpc: { soft: 100, hard: 1010 } }, openFiles: 1024, caps: { rpc: { soft: 100, hard: 640 } } },
  {
    name: 'several interfaces share what is left in proportion to their hard caps',
    configured: { a: CCF_DEFAULTS, b: { soft: 10, hard: 10 } },
    openFiles: 512,
    caps: { a: { soft: 123, hard: 125 }, b: { soft: 2, hard: 2 } },
  },
  { name: 'one session left for each interface', configured: { a: CCF_DEFAULTS, b: CCF_DEFAULTS }, openFiles: 386, caps: { a: { soft: 1, hard: 1 }, b: { soft: 1, hard: 1 } } },
];

for (const { name, configured, openFiles, caps } of cases) {
  test(`session caps within the open-file limit: ${name}`, () => {
    const fitted = fitSessionCaps(configured, openFiles);
    assert.deepEqual(fitted.caps, caps);
    assert.equal(fitted.warning === undefined, JSON.stringify(caps) === JSON.stringify(configured), 'a warning exactly when caps were lowered');
    const sessions = Object.values(fitted.caps).reduce((sum, c) => sum + c.hard, 0);
    if (fitted.warning !== undefined) assert.ok(sessions <= openFiles! - SESSION_DESCRIPTOR_HEADROOM, `${sessions} sessions fit the limit`);
  });
}

test('lowered caps come with one warning naming the limit, each lowered interface, and what to do', () => {
  const { warning } = fitSessionCaps({ primary_rpc_interface: CCF_DEFAULTS, other: { soft: 5, hard: 5 } }, 1024);
  assert.equal(
    warning,
    "this process may open 1024 files (ulimit -n) and keeps 384 of them for its own; interface primary_rpc_interface's max_open_sessions_soft and _hard (1000 and 1010) are lowered to 628 and 635; " +
      "interface other's max_open_sessions_soft and _hard (5 and 5) are lowered to 4 and 4 so that client sessions cannot take the rest: " +
      "raise the limit (ulimit -n, systemd's LimitNOFILE=) to at least 1399, or lower the caps",
  );
});

test('a limit that leaves no session for an interface refuses to start, saying how high it must be', () => {
  assert.throws(() => fitSessionCaps({ a: CCF_DEFAULTS, b: CCF_DEFAULTS }, 385), {
    code: 'OpenFilesLimitTooLow',
    message:
      'this process may open 385 files (ulimit -n), and a node keeps 384 of them for its own files and node-to-node connections: none are left for client sessions on its 2 RPC interface(s); ' +
      "raise the limit (ulimit -n, systemd's LimitNOFILE=) to at least 2404",
  });
});
