// ccf.historical.getStateRange on a node: null while a range of committed transactions loads, then
// every state in order with its private writes and a receipt that verifies; a range as long as CCF's
// logging sample asks for loads in the background a window at a time; ranges that are empty, too
// long or not committed are refused; ranges together hold a bounded number of entry bytes; handles
// expire, can be dropped, and are bounded in number.

import assert from 'node:assert/strict';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { verifyReceipt, type Receipt } from '../../src/ledger/receipt.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { HISTORICAL_RANGE_SEQNOS_MAX, HISTORICAL_RANGE_WINDOW_SEQNOS, HISTORICAL_STATE_OVERHEAD_BYTES, HistoricalRanges, type RangeSource } from '../../src/node/historical-ranges.js';
import type { HistoricalState } from '../../src/node/historical-states.js';
import { Store } from '../../src/kv/store.js';
import type { HistoricalStateInput } from '../../src/js/js-host.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { until } from '../support/until.js';

function write(node: ReturnType<typeof startInProcessNode>['node'], id: number): TxId {
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8(String(id)), utf8(`message ${id}`));
    return { result: undefined, applyWrites: true };
  });
  return txId!;
}

test('a committed range loads, then answers each state in order with its writes and a receipt', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  const written = [1, 2, 3, 4].map((id) => write(node, id));
  await node.waitForCommit(written.at(-1)!.seqno);
  const ranges = new HistoricalRanges(node, () => Date.now());
  const [first, last] = [written[0]!.seqno, written.at(-1)!.seqno];
  assert.equal(ranges.getStateRange(7, first, last, 60), null, 'the first call starts loading');
  const states = await until('the range to load', 20_000, async () => ranges.getStateRange(7, first, last, 60) ?? undefined);
  assert.deepEqual(states.map((s) => s.transactionId.seqno), Array.from({ length: last - first + 1 }, (_, i) => first + i), 'one state per seqno, in order');
  // The range holds signature transactions as well; each application write reads back.
  for (const [index, txId] of written.entries()) {
    const state = states.find((s) => s.transactionId.seqno === txId.seqno) as HistoricalStateInput;
    assert.equal(formatTxId(state.transactionId), formatTxId(txId));
    assert.equal(fromUtf8(state.tx.map('records').get(utf8(String(index + 1)))!), `message ${index + 1}`);
    assert.equal(verifyReceipt(state.receipt as unknown as Receipt, node.options.service.certPem, { at: new Date() }).txId, formatTxId(txId));
  }
  assert.equal(ranges.dropCachedStates(7), true);
  assert.equal(ranges.dropCachedStates(7), false, 'a dropped handle names nothing');
});

test('empty, reversed, too long or uncommitted ranges are refused; a handle expires unless asked again', async (t) => {
  const instance = startInProcessNode({ signatureTxCount: 1000, signatureDelayMs: 60_000 });
  t.after(() => instance.close());
  const { node } = instance;
  await node.waitForCommit(2);
  const committed = node.commitTxId.seqno;
  write(node, 9);
  let now = 1_000_000;
  const ranges = new HistoricalRanges(node, () => now);
  const refused = (start: number, end: number, pattern: RegExp) =>
    assert.throws(() => ranges.getStateRange(1, start, end, 10), (e: unknown) => e instanceof CocoError && pattern.test(e.message), `${start}..${end}`);
  refused(0, 1, /^Invalid range for historical query: seqnos start at 1, not 0$/);
  refused(2, 1, /^Invalid range for historical query: end 1 is before start 2$/);
  refused(1, HISTORICAL_RANGE_SEQNOS_MAX + 1, new RegExp(`spans ${HISTORICAL_RANGE_SEQNOS_MAX + 1} seqnos, more than the ${HISTORICAL_RANGE_SEQNOS_MAX}`));
  refused(1, committed + 1, new RegExp(`seqno ${committed + 1} is not committed yet \\(the last committed is ${committed}\\)`));

  ranges.getStateRange(3, 1, 1, 10);
  now += 9_000;
  ranges.getStateRange(3, 1, 1, 10);
  now += 9_000;
  assert.equal(ranges.dropCachedStates(3), true, 'asked again within its expiry: still held');
  ranges.getStateRange(4, 1, 1, 10);
  now += 10_000;
  assert.equal(ranges.dropCachedStates(4), false, 'not asked for 10 s: forgotten');

  // An app naming a new handle per request: the handles asked for longest ago are forgotten.
  for (let handle = 100; handle < 100 + 1025; handle++) ranges.getStateRange(handle, 1, 1, 3600);
  assert.equal(ranges.dropCachedStates(100), false, 'the oldest of 1,025 handles is forgotten');
  assert.equal(ranges.dropCachedStates(101), true);
  assert.equal(ranges.dropCachedStates(100 + 1024), true);
});

test("a range of 2,001 seqnos (CCF's logging sample asks for that many) loads from the ledger a window at a time, the event loop turning between windows", async (t) => {
  const instance = startInProcessNode({ signatureTxCount: 100, receiptsInMemory: 0 });
  t.after(() => instance.close());
  const { node } = instance;
  const written = Array.from({ length: 2050 }, (_, i) => write(node, i));
  await node.waitForCommit(written.at(-1)!.seqno);
  let inFlight = 0;
  let inFlightMax = 0;
  const source: RangeSource = {
    get commitTxId() {
      return node.commitTxId;
    },
    viewOf: (seqno) => node.viewOf(seqno),
    historical: {
      loaded: async (txId) => {
        inFlightMax = Math.max(inFlightMax, ++inFlight);
        try {
          return await node.historical.loaded(txId);
        } finally {
          inFlight--;
        }
      },
    },
  };
  const ranges = new HistoricalRanges(source, () => Date.now());
  const [first, last] = [written[10]!.seqno, written[10]!.seqno + 2000];
  let turns = 0;
  let loading = true;
  const turn = (): void => void (loading && (turns++, setImmediate(turn)));
  turn();
  assert.equal(ranges.getStateRange(1, first, last, 60), null, 'the first call starts loading');
  const states = await until('the range to load', 60_000, async () => ranges.getStateRange(1, first, last, 60) ?? undefined);
  loading = false;
  assert.deepEqual(states.map((s) => s.transactionId.seqno), Array.from({ length: 2001 }, (_, i) => first + i), 'one state per seqno, in order');
  const sample = written[500]!;
  assert.equal(fromUtf8(states[sample.seqno - first]!.tx.map('records').get(utf8('500'))!), 'message 500');
  assert.equal(verifyReceipt(states[sample.seqno - first]!.receipt as unknown as Receipt, node.options.service.certPem, { at: new Date() }).txId, formatTxId(sample));
  assert.ok(inFlightMax > 1 && inFlightMax <= HISTORICAL_RANGE_WINDOW_SEQNOS, `at most a window of states loading at once (${inFlightMax})`);
  assert.ok(turns >= Math.ceil(2001 / HISTORICAL_RANGE_WINDOW_SEQNOS), `the event loop turned between windows (${turns} turns)`);
});

test('ranges together hold a bounded number of bytes: the range asked for longest ago goes first, and one that alone needs more is refused every time', async () => {
  const stateOf = (txId: TxId): HistoricalState => ({ txId, store: new Store(BigInt(txId.seqno - 1)), receipt: {} as Receipt, entryBytes: 100, pinnedBytes: 100 + HISTORICAL_STATE_OVERHEAD_BYTES });
  const source: RangeSource = { commitTxId: { view: 2, seqno: 1000 }, viewOf: () => 2, historical: { loaded: async (txId) => stateOf(txId) } };
  const stateBytes = 100 + HISTORICAL_STATE_OVERHEAD_BYTES;
  const ranges = new HistoricalRanges(source, () => 0, 10 * stateBytes);
  const load = (handle: number, start: number, end: number) => until(`${start}..${end}`, 5_000, async () => ranges.getStateRange(handle, start, end, 60) ?? undefined);
  assert.equal((await load(1, 1, 6)).length, 6);
  assert.equal(ranges.bytes, 6 * stateBytes);
  assert.equal((await load(2, 11, 16)).length, 6, 'a second range that does not fit with the first');
  assert.equal(ranges.bytes, 6 * stateBytes, 'the first went to make room');
  assert.equal(ranges.dropCachedStates(1), false);
  const tooLarge = (e: unknown) => e instanceof CocoError && e.message.startsWith(`21..31 takes more than the ${10 * stateBytes} bytes a node keeps for ranges`) && e.message.endsWith('ask for it in parts');
  assert.equal(ranges.getStateRange(3, 21, 31, 60), null);
  const refusal = await until('the refusal', 5_000, async () => {
    try {
      ranges.getStateRange(3, 21, 31, 60);
      return undefined;
    } catch (error) {
      return error;
    }
  });
  assert.ok(tooLarge(refusal), String(refusal));
  for (let i = 0; i < 3; i++) assert.throws(() => ranges.getStateRange(3, 21, 31, 60), tooLarge, 'refused every time, never loading again');
  assert.equal(ranges.bytes, 6 * stateBytes, 'it holds nothing, and the others stay');
  assert.equal(ranges.dropCachedStates(2), true);
  assert.equal(ranges.bytes, 0, 'a dropped range frees its states');
});
