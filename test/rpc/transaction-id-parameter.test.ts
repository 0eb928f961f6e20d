// The transaction_id of /tx, /local_tx and /receipt on a node in this process (view 2, committed
// from 2.1): every TxID CCF's TxID::from_str reads (two unsigned 64-bit decimals) is answered with
// its status, written back without leading zeros; view 0 and seqno 0, which no transaction has,
// are Invalid; text that does not read, or a number past 2^64 - 1, is 400.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

let inProcess: InProcessNode;
let service: BuiltinEndpointsServer;

before(async () => {
  inProcess = startInProcessNode();
  await inProcess.node.waitForCommit(2);
  service = await builtinEndpointsServer(inProcess);
});

after(() => service?.close());

const UINT64_MAX = '18446744073709551615';

/** The TxID asked, then the TxID and status answered. */
const READ: [string, string, string][] = [
  ['2.1', '2.1', 'Committed'],
  ['002.0001', '2.1', 'Committed'],
  ['0.1', '0.1', 'Invalid'],
  ['0.999999', '0.999999', 'Invalid'],
  ['2.0', '2.0', 'Invalid'],
  ['0.0', '0.0', 'Invalid'],
  ['1.999999', '1.999999', 'Invalid'],
  [`2.${UINT64_MAX}`, `2.${UINT64_MAX}`, 'Unknown'],
  [`${UINT64_MAX}.1`, `${UINT64_MAX}.1`, 'Invalid'],
  [`${UINT64_MAX}.${UINT64_MAX}`, `${UINT64_MAX}.${UINT64_MAX}`, 'Unknown'],
];

const UNREADABLE = ['2.18446744073709551616', '18446744073709551616.1', '2', '2.', '.1', '2.1.1', '-1.2', '2.-1', '%2B2.1', '2.1%20', '0x2.1', '2:1', '2.1e3', ''];

test('/tx and /local_tx answer the status of every TxID CCF reads, written back as CCF writes it', { timeout: 30_000 }, async () => {
  for (const frontend of ['node', 'gov']) {
    for (const path of ['tx', 'local_tx']) {
      for (const [asked, transaction_id, status] of READ) {
        const answer = await service.client.request('GET', `/${frontend}/${path}?transaction_id=${asked}`, { allowError: true });
        assert.equal(answer.status, 200, `${asked}: ${answer.text()}`);
        assert.deepEqual(answer.json(), { transaction_id, status }, asked);
      }
    }
  }
});

test('/tx, /local_tx and /receipt refuse a transaction_id CCF cannot read, or none, with 400', { timeout: 30_000 }, async () => {
  for (const path of ['tx', 'local_tx', 'receipt']) {
    for (const asked of [...UNREADABLE.map((text) => `?transaction_id=${text}`), '', '?transactionid=2.1']) {
      const answer = await service.client.request('GET', `/node/${path}${asked}`, { allowError: true });
      assert.equal(answer.status, 400, `${path}${asked}: ${answer.text()}`);
      assert.equal(answer.json<{ error: { code: string } }>().error.code, 'InvalidQueryParameterValue', asked);
    }
  }
});

test('/receipt of a TxID that reads but is not committed is 404 in CCF words, no-cache while it may still commit', { timeout: 30_000 }, async () => {
  const refusal = async (asked: string) => {
    const answer = await service.client.request('GET', `/node/receipt?transaction_id=${asked}`, { allowError: true });
    const { error } = answer.json<{ error: { code: string; message: string } }>();
    return [answer.status, error.code, error.message, answer.headers['cache-control']];
  };
  const unknown = `2.${UINT64_MAX}`;
  assert.deepEqual(await refusal(unknown), [404, 'TransactionPendingOrUnknown', `Only committed transactions can be queried. Transaction ${unknown} is Unknown`, 'no-cache']);
  for (const invalid of ['0.1', '2.0', `${UINT64_MAX}.1`]) {
    assert.deepEqual(await refusal(invalid), [404, 'TransactionInvalid', `Only committed transactions can be queried. Transaction ${invalid} is Invalid`, undefined]);
  }
  assert.equal((await service.client.request('GET', '/node/receipt?transaction_id=002.0001')).status, 200, 'a committed one has its receipt');
});
