// Specification of commit waiting and receipts against real TLS servers: waitForCommit polls
// /node/tx through Unknown and Pending to Committed, fails with TransactionInvalid or Timeout (naming
// the last status); getReceipt retries 202 as Retry-After asks within its timeout; a fetched receipt
// verifies offline against the service certificate and against no other.

import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { sha256 } from '../../src/crypto/hash.js';
import { signDigest } from '../../src/crypto/signing.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { CocoRequestError } from '../../src/client/request-error.js';
import { getReceipt, parseTxId, requireTxId, txIdText, verifyReceiptOffline, waitForCommit, type TransactionStatus } from '../../src/client/transactions.js';
import { CocoError } from '../../src/errors.js';
import { MerkleTree } from '../../src/ledger/merkle-tree.js';
import { buildReceipt, computeLeaf, type TxReceipt } from '../../src/ledger/receipt.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { ccfError, createService, reply, startServer, type Handler, type ServiceIdentity, type TestServer } from './tls-fixture.js';

const VIEW = 2;
const SEQNO = 15;
const TX_ID = { view: VIEW, seqno: SEQNO };
/** The signature transaction after SEQNO signs the root over leaves 0..SEQNO. */
const SIGNED_TREE_SIZE = SEQNO + 1;
const FAR_FUTURE = new Date('2100-01-01T00:00:00Z');

let service: ServiceIdentity;
let otherService: ServiceIdentity;
let receipt: TxReceipt;

before(async () => {
  [service, otherService] = await Promise.all([createService(), createService()]);
  const tree = new MerkleTree();
  tree.append(new Uint8Array(32));
  let target: { writeSetDigest: Uint8Array; commitEvidence: string } | undefined;
  for (let seqno = 1; seqno < SIGNED_TREE_SIZE; seqno++) {
    const tx = { writeSetDigest: sha256(utf8(`ws ${seqno}`)), commitEvidence: `ce:${VIEW}.${seqno}:${toHex(sha256(utf8(`nonce ${seqno}`)))}` };
    tree.append(computeLeaf(tx.writeSetDigest, tx.commitEvidence));
    if (seqno === SEQNO) target = tx;
  }
  assert.ok(target);
  receipt = buildReceipt({
    proof: tree.proofAt(SEQNO, SIGNED_TREE_SIZE),
    signatureDer: signDigest(service.node.keyPem, tree.rootAt(SIGNED_TREE_SIZE)),
    nodeId: publicKeyId(service.node.certPem),
    certPem: service.node.certPem,
    ...target,
  });
});

async function serve(t: TestContext, handler: Handler): Promise<{ server: TestServer; client: CocoClient }> {
  const server = await startServer(service, handler);
  const client = new CocoClient({ url: server.url, caCertPem: service.certPem });
  t.after(async () => {
    client.close();
    await server.close();
  });
  return { server, client };
}

/** A node that reports the given statuses in turn for /node/tx, repeating the last one. */
function statuses(...sequence: TransactionStatus[]): Handler {
  let calls = 0;
  return (request, res) => {
    const status = sequence[Math.min(calls++, sequence.length - 1)];
    reply(res, 200, { transaction_id: request.url.searchParams.get('transaction_id'), status });
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, mentions?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CocoError, `expected a CocoError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (mentions !== undefined) assert.match(error.message, mentions);
    return true;
  });
}

describe('waitForCommit', () => {
  it('polls GET /node/tx through Unknown and Pending until Committed, reporting each status', async (t) => {
    const { server, client } = await serve(t, statuses('Unknown', 'Pending', 'Pending', 'Committed'));
    const seen: TransactionStatus[] = [];
    await waitForCommit(client, TX_ID, { timeoutMs: 10_000, pollIntervalMs: 1, onProgress: (status) => seen.push(status) });
    assert.deepEqual(seen, ['Unknown', 'Pending', 'Pending']);
    assert.equal(server.requests.length, 4);
    assert.ok(server.requests.every((request) => request.method === 'GET' && request.path === '/node/tx?transaction_id=2.15'));
  });

  it('asks /gov/tx, then /app/tx, where the interface serves no /node endpoints (accepted_endpoints: 503 EndpointNotAccepted)', async (t) => {
    const refused = new Set(['/node/tx', '/gov/tx']);
    const { server, client } = await serve(t, (request, res) =>
      refused.has(request.url.pathname) ? ccfError(res, 503, 'EndpointNotAccepted', `${request.url.pathname} is not served on interface client`) : statuses('Committed')(request, res),
    );
    await waitForCommit(client, TX_ID);
    assert.deepEqual(server.requests.map((request) => request.path), ['/node/tx', '/gov/tx', '/app/tx'].map((path) => `${path}?transaction_id=2.15`));
    // Refused everywhere: the last refusal is the error.
    refused.add('/app/tx');
    await rejectsWith(waitForCommit(client, TX_ID), 'EndpointNotAccepted', /\/app\/tx is not served/);
  });

  it('accepts the TxID as text', async (t) => {
    const { server, client } = await serve(t, statuses('Committed'));
    await waitForCommit(client, '7.300');
    assert.equal(server.requests[0]?.path, '/node/tx?transaction_id=7.300');
  });

  it('fails with TransactionInvalid when the service reports the transaction Invalid', async (t) => {
    const { client } = await serve(t, statuses('Pending', 'Invalid'));
    await rejectsWith(waitForCommit(client, TX_ID, { pollIntervalMs: 1 }), 'TransactionInvalid', /2\.15/);
  });

  it('fails with Timeout naming the last status when the transaction stays Pending', async (t) => {
    const { server, client } = await serve(t, statuses('Pending'));
    await rejectsWith(waitForCommit(client, TX_ID, { timeoutMs: 100, pollIntervalMs: 10 }), 'Timeout', /last status Pending/);
    assert.ok(server.requests.length >= 1);
  });

  it('fails with Timeout naming the last status when the node stops answering', async (t) => {
    let calls = 0;
    const { client } = await serve(t, (request, res) => {
      if (calls++ === 0) statuses('Unknown')(request, res);
    });
    await rejectsWith(waitForCommit(client, TX_ID, { timeoutMs: 200, pollIntervalMs: 1 }), 'Timeout', /last status Unknown/);
  });

  it('rejects a status CCF does not define as InvalidResponse, and passes on error responses', async (t) => {
    const { client } = await serve(t, (request, res) =>
      request.url.searchParams.get('transaction_id') === '1.1' ? reply(res, 200, { status: 'Done' }) : ccfError(res, 400, 'InvalidQueryParameterValue', 'bad'),
    );
    await rejectsWith(waitForCommit(client, '1.1'), 'InvalidResponse', /"Done"/);
    await assert.rejects(waitForCommit(client, '1.2'), (error: unknown) => error instanceof CocoRequestError && error.code === 'InvalidQueryParameterValue');
  });

  it('rejects a malformed TxID and invalid options with InvalidArgument before polling', async (t) => {
    const { server, client } = await serve(t, statuses('Committed'));
    await rejectsWith(waitForCommit(client, '2:15'), 'InvalidArgument', /"2:15" is not a transaction ID/);
    await rejectsWith(getReceipt(client, 'abc'), 'InvalidArgument');
    await rejectsWith(waitForCommit(client, TX_ID, { timeoutMs: 0 }), 'InvalidArgument');
    await rejectsWith(waitForCommit(client, TX_ID, { pollIntervalMs: -1 }), 'InvalidArgument');
    assert.equal(server.requests.length, 0);
  });
});

describe('getReceipt', () => {
  it('retries a 202 after the Retry-After seconds, then returns the receipt', async (t) => {
    let calls = 0;
    const { server, client } = await serve(t, (_request, res) =>
      calls++ === 0 ? reply(res, 202, undefined, { 'retry-after': '1' }) : reply(res, 200, receipt),
    );
    const delays: number[] = [];
    const fetched = await getReceipt(client, TX_ID, { timeoutMs: 10_000, onRetry: (ms) => delays.push(ms) });
    assert.deepEqual(fetched, receipt);
    assert.deepEqual(delays, [1000]);
    assert.deepEqual(server.requests.map((request) => request.path), ['/app/receipt?transaction_id=2.15', '/app/receipt?transaction_id=2.15']);
  });

  it('waits a default delay after a 202 without Retry-After', async (t) => {
    let calls = 0;
    const { client } = await serve(t, (_request, res) => (calls++ === 0 ? reply(res, 202) : reply(res, 200, receipt)));
    const delays: number[] = [];
    await getReceipt(client, TX_ID, { onRetry: (ms) => delays.push(ms) });
    assert.equal(delays.length, 1);
    assert.ok((delays[0] ?? 0) > 0);
  });

  it('fails with Timeout at once when Retry-After asks to wait past the timeout', async (t) => {
    const { server, client } = await serve(t, (_request, res) => reply(res, 202, undefined, { 'retry-after': '60' }));
    await rejectsWith(getReceipt(client, TX_ID, { timeoutMs: 5_000 }), 'Timeout', /60000 ms/);
    assert.equal(server.requests.length, 1);
  });

  it("passes on the service's refusal as CocoRequestError", async (t) => {
    const { client } = await serve(t, (_request, res) => ccfError(res, 404, 'TransactionPendingOrUnknown', 'not committed'));
    await assert.rejects(getReceipt(client, TX_ID), (error: unknown) => error instanceof CocoRequestError && error.code === 'TransactionPendingOrUnknown');
  });

  it('rejects a success status other than 200 and 202 as InvalidResponse', async (t) => {
    const { client } = await serve(t, (_request, res) => reply(res, 204));
    await rejectsWith(getReceipt(client, TX_ID), 'InvalidResponse');
  });
});

describe('verifyReceiptOffline', () => {
  it('verifies a fetched receipt against the service certificate and returns its TxID', async (t) => {
    const { client } = await serve(t, (_request, res) => reply(res, 200, receipt));
    const verified = verifyReceiptOffline(await getReceipt(client, TX_ID), service.certPem);
    assert.equal(verified.txId, '2.15');
  });

  it('rejects a receipt from another service and a tampered one with ReceiptInvalid', () => {
    assert.throws(() => verifyReceiptOffline(receipt, otherService.certPem), (error: unknown) => error instanceof CocoError && error.code === 'ReceiptInvalid');
    const tampered = { ...receipt, leaf_components: { ...receipt.leaf_components, write_set_digest: '00'.repeat(32) } };
    assert.throws(() => verifyReceiptOffline(tampered, service.certPem), (error: unknown) => error instanceof CocoError && error.code === 'ReceiptInvalid');
  });

  it('judges certificate validity now by default, at the instant given, or not at all', () => {
    assert.throws(() => verifyReceiptOffline(receipt, service.certPem, { at: FAR_FUTURE }), (error: unknown) => error instanceof CocoError && error.code === 'ReceiptInvalid');
    assert.equal(verifyReceiptOffline(receipt, service.certPem, { at: 'ignore-validity' }).txId, '2.15');
  });
});

describe('txIdText', () => {
  it('checks a TxID given as an object as it checks one given as text', () => {
    assert.equal(txIdText({ view: 2, seqno: 15 }), '2.15');
    assert.equal(txIdText('2.15'), '2.15');
    for (const bad of [{ view: -1, seqno: 1 }, { view: 2, seqno: Number.NaN }, { view: 2, seqno: 1.5 }, null, 'abc']) {
      assert.throws(() => txIdText(bad as TxId), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument', JSON.stringify(bad));
    }
    assert.throws(() => parseTxId('2.x'), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument');
  });
});

describe('requireTxId', () => {
  it('returns a TxID that is there, and fails with MissingTransactionId when there is none', () => {
    assert.deepEqual(requireTxId(TX_ID), TX_ID);
    assert.throws(() => requireTxId(undefined), (error: unknown) => error instanceof CocoError && error.code === 'MissingTransactionId' && /x-ms-ccf-transaction-id/.test(error.message));
  });
});
