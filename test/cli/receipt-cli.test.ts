import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { ethereumClaimsDigest, outcomeOfRpcReceipt } from '../../src/ethereum/receipt-claims.js';
import { jsReceipt } from '../../src/js/js-receipt.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { runCoco } from '../support/run-cli.js';
import { generateLedger } from '../support/generated-ledger.js';
import { coseReceiptsOf } from '../ledger/cose-receipt-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-receipt-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("coco receipt verify checks --claims-digest and --ethereum-tx (with the Ethereum receipt) against a COSE receipt's leaf components", async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 2 });
  t.after(close);
  const ethereumTx = `0x${toHex(sha256(utf8('an Ethereum transaction')))}`;
  // An Ethereum receipt as eth_getTransactionReceipt gives it: a transfer that succeeded with one event.
  const ethereumReceipt = {
    transactionHash: ethereumTx,
    type: '0x2',
    status: '0x1',
    cumulativeGasUsed: '0x85bb',
    gasUsed: '0x85bb',
    logs: [{ address: `0x${'ab'.repeat(20)}`, topics: [`0x${'01'.repeat(32)}`, `0x${'02'.repeat(32)}`], data: '0x00ff' }],
  };
  const { hash, outcome } = outcomeOfRpcReceipt(ethereumReceipt);
  const claims = ethereumClaimsDigest(hash, outcome);
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8('k'), utf8('v'));
    return { result: undefined, applyWrites: true, claimsDigest: claims };
  });
  await node.waitForCommit(txId!.seqno);
  const receipt = join(scratch, 'receipt.cose');
  const serviceCert = join(scratch, 'service_cert.pem');
  const stated = (name: string, value: unknown) => {
    const file = join(scratch, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };
  writeFileSync(receipt, node.coseReceipt(txId!));
  writeFileSync(serviceCert, node.options.service.certPem);

  const asAnswered = stated('eth-response.json', { jsonrpc: '2.0', id: 1, result: ethereumReceipt });
  for (const expected of [['--claims-digest', toHex(claims)], ['--ethereum-tx', ethereumTx, '--ethereum-receipt', stated('eth-receipt.json', ethereumReceipt)], ['--ethereum-tx', ethereumTx, '--ethereum-receipt', asAnswered]]) {
    const result = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, ...expected]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`for transaction ${txId!.view}\\.${txId!.seqno}: .*claims digest ${toHex(claims)} as expected`));
  }
  const proved = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx, '--ethereum-receipt', asAnswered]);
  assert.match(proved.stdout, new RegExp(`as expected: Ethereum transaction ${ethereumTx} succeeded \\(status 1\\), gas used 34235, 1 log\\.`));
  const json = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx, '--ethereum-receipt', asAnswered, '--json']);
  assert.deepEqual(JSON.parse(json.stdout).ethereum, { transaction_hash: ethereumTx, status: 1, gas_used: '34235', logs: 1 });

  // An Ethereum receipt that states another outcome (reverted, another event, other gas) is not the one the service signed.
  for (const [name, forged] of [
    ['reverted', { ...ethereumReceipt, status: '0x0', logs: [] }],
    ['other-log', { ...ethereumReceipt, logs: [{ ...ethereumReceipt.logs[0]!, data: '0x0100' }] }],
    ['other-gas', { ...ethereumReceipt, cumulativeGasUsed: '0x5208', gasUsed: '0x5208' }],
    ['other-type', { ...ethereumReceipt, type: '0x0' }],
  ] as const) {
    const refused = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx, '--ethereum-receipt', stated(`${name}.json`, forged)]);
    assert.equal(refused.status, 1, name);
    assert.match(refused.stderr, new RegExp(`its transaction has claims digest ${toHex(claims)}, not .*\\[ReceiptClaimsMismatch\\]`), name);
  }
  const otherTx = `0x${toHex(sha256(utf8('another Ethereum transaction')))}`;
  const mismatch = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', otherTx, '--ethereum-receipt', asAnswered]);
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, new RegExp(`the Ethereum receipt given is that of transaction ${ethereumTx}, not of ${otherTx}`));
  // A COSE receipt does not carry the Ethereum receipt: without --ethereum-receipt nothing says what outcome to expect.
  const bare = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx]);
  assert.notEqual(bare.status, 0);
  assert.match(bare.stderr, /does not carry the Ethereum receipt of 0x[0-9a-f]{64}.*--ethereum-receipt FILE/);
  const malformed = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx, '--ethereum-receipt', stated('no-status.json', { ...ethereumReceipt, status: undefined })]);
  assert.notEqual(malformed.status, 0);
  assert.match(malformed.stderr, /not an Ethereum receipt as eth_getTransactionReceipt gives it: status must be a hex quantity/);
  // Fields outside the encoding that a reader takes from the same receipt must agree with it, and a file without a receipt says what it holds.
  for (const [name, value, message] of [
    ['other-gas-used', { ...ethereumReceipt, gasUsed: '0x1' }, /gasUsed "0x1" is not cumulativeGasUsed "0x85bb"/],
    ['other-bloom', { ...ethereumReceipt, logsBloom: `0x${'ff'.repeat(256)}` }, /logsBloom is not the bloom of the logs/],
    ['rpc-error', { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'header not found' } }, /holds a JSON-RPC error answer, not a receipt: header not found/],
    ['rpc-null', { jsonrpc: '2.0', id: 1, result: null }, /holds no receipt \(eth_getTransactionReceipt answers null for a transaction unknown or not yet committed\)/],
  ] as const) {
    const refused = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-tx', ethereumTx, '--ethereum-receipt', stated(`${name}.json`, value)]);
    assert.notEqual(refused.status, 0, name);
    assert.match(refused.stderr, message, name);
  }
  const alone = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--ethereum-receipt', asAnswered]);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--ethereum-receipt goes with --ethereum-tx HASH/);
  const other = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--claims-digest', toHex(sha256(utf8('other claims')))]);
  assert.equal(other.status, 1);
  assert.match(other.stderr, new RegExp(`its transaction has claims digest ${toHex(claims)}, not .*\\[ReceiptClaimsMismatch\\]`));
});

test('coco receipt verify of a JSON receipt whose app removed its claims digest says so, and verifies with --claims-digest', async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 2 });
  t.after(close);
  const claims = sha256(utf8('the claims the app set'));
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8('k'), utf8('v'));
    return { result: undefined, applyWrites: true, claimsDigest: claims };
  });
  await node.waitForCommit(txId!.seqno);
  // As CCF's logging sample hands it out (/app/log/public/historical_receipt): without claims_digest.
  const json = node.receipt(txId!) as { leaf_components: { claims_digest?: string } };
  delete json.leaf_components.claims_digest;
  const receipt = join(scratch, 'no-claims.json');
  const serviceCert = join(scratch, 'service_cert.pem');
  writeFileSync(receipt, JSON.stringify(json));
  writeFileSync(serviceCert, node.options.service.certPem);

  const bare = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert]);
  assert.equal(bare.status, 1);
  assert.match(bare.stderr, /the receipt has no claims digest: .*coco receipt verify --claims-digest HEX.*\[ReceiptInvalid\]/);
  const given = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, '--claims-digest', toHex(claims)]);
  assert.equal(given.status, 0, given.stderr);
});

test("coco receipt verify checks a JS app's receipt of a signature transaction: its root_hex signed by a node the service endorses", async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 2 });
  t.after(close);
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8('k'), utf8('v'));
    return { result: undefined, applyWrites: true };
  });
  await node.waitForCommit(txId!.seqno);
  // The signature transaction that committed the write, as ccf.historicalState.receipt shows it to apps.
  const seqnos = Array.from({ length: node.commitTxId.seqno - txId!.seqno + 1 }, (_, i) => txId!.seqno + i);
  const signature = seqnos.map((seqno) => node.receipt({ view: node.viewOf(seqno), seqno })).find((receipt) => 'leaf' in receipt);
  const shown = jsReceipt(signature!) as Record<string, unknown>;
  assert.equal(shown.is_signature_transaction, true);
  assert.equal(typeof shown.root_hex, 'string');
  const receipt = join(scratch, 'signature-js.json');
  const serviceCert = join(scratch, 'service_cert.pem');
  writeFileSync(receipt, JSON.stringify(shown));
  writeFileSync(serviceCert, node.options.service.certPem);

  const verified = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert]);
  assert.equal(verified.status, 0, verified.stderr);
  assert.equal(verified.stdout.trim(), `Receipt verified: signed root ${shown.root_hex as string}, endorsed by the service certificate.`);
  writeFileSync(receipt, JSON.stringify({ ...shown, root_hex: (shown.root_hex as string).replace(/^./, (c) => (c === '0' ? '1' : '0')) }));
  const tampered = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert]);
  assert.equal(tampered.status, 1);
  assert.match(tampered.stderr, /signature does not verify over root .*\[ReceiptInvalid\]/);
});

test('coco receipt verify checks every file it is given: one line each, exit 1 if any failed', () => {
  const generated = generateLedger({ transactions: 6, signatureInterval: 3 });
  const { receiptFor } = coseReceiptsOf(generated);
  const serviceCert = join(scratch, 'many-service_cert.pem');
  writeFileSync(serviceCert, generated.identity.serviceCertPem);
  const good = [3, 4].map((seqno) => {
    const file = join(scratch, `many-2.${seqno}.cose`);
    writeFileSync(file, receiptFor(seqno));
    return file;
  });
  const tampered = join(scratch, 'many-tampered.cose');
  const bytes = receiptFor(5);
  bytes[bytes.length - 1]! ^= 0x01; // the service signature's last byte
  writeFileSync(tampered, bytes);

  const all = runCoco(['receipt', 'verify', good[0]!, tampered, good[1]!, '--service-cert', serviceCert]);
  assert.equal(all.status, 1);
  const lines = all.stdout.trim().split('\n');
  assert.equal(lines.length, 2, all.stdout);
  assert.match(lines[0]!, new RegExp(`^${good[0]}: Receipt verified for transaction 2\\.3: `));
  assert.match(lines[1]!, new RegExp(`^${good[1]}: Receipt verified for transaction 2\\.4: `));
  assert.match(all.stderr, new RegExp(`^coco receipt verify: ${tampered}: FAILED .*\\[ReceiptInvalid\\]\ncoco receipt verify: 1 of 3 receipts failed\n$`));

  const fine = runCoco(['receipt', 'verify', ...good, '--service-cert', serviceCert]);
  assert.equal(fine.status, 0, fine.stderr);
  assert.equal(fine.stdout.trim().split('\n').length, 2);
  // One file: its line alone, as before.
  const one = runCoco(['receipt', 'verify', good[0]!, '--service-cert', serviceCert]);
  assert.match(one.stdout, /^Receipt verified for transaction 2\.3: /);

  // --json: one object per file on stdout, the failure included, same exit status.
  const json = runCoco(['receipt', 'verify', good[0]!, tampered, '--service-cert', serviceCert, '--json']);
  assert.equal(json.status, 1);
  assert.equal(json.stderr, '');
  const [verified, failed, ...rest] = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(rest.length, 0);
  assert.deepEqual(Object.keys(verified!), ['file', 'verified', 'format', 'transaction_ids', 'signed_root', 'claims_digest']);
  assert.deepEqual({ ...verified, signed_root: undefined, claims_digest: undefined }, { file: good[0], verified: true, format: 'cose', transaction_ids: ['2.3'], signed_root: undefined, claims_digest: undefined });
  assert.match(verified!.signed_root as string, /^[0-9a-f]{64}$/);
  assert.match(verified!.claims_digest as string, /^[0-9a-f]{64}$/);
  assert.equal(failed!.file, tampered);
  assert.equal(failed!.verified, false);
  assert.equal(failed!.code, 'ReceiptInvalid');
  assert.match(failed!.reason as string, /signature/);
  // A node's error answer saved as a receipt (curl > file after a 202) is said to be one.
  const answer = join(scratch, 'not-cached.cose');
  writeFileSync(answer, JSON.stringify({ error: { code: 'TransactionNotCached', message: 'Transaction 2.5 is not cached yet: ask again shortly' } }));
  const saved = runCoco(['receipt', 'verify', answer, '--service-cert', serviceCert]);
  assert.equal(saved.status, 1);
  assert.match(saved.stderr, /not-cached\.cose holds the node's error answer, not a receipt: TransactionNotCached: Transaction 2\.5 is not cached yet: ask again shortly \(ask for the receipt again, and save it only when the answer is 200\) \[ReceiptMalformed\]/);
  const oneJson = runCoco(['receipt', 'verify', good[1]!, '--service-cert', serviceCert, '--json']);
  assert.equal(oneJson.status, 0, oneJson.stderr);
  assert.deepEqual((JSON.parse(oneJson.stdout) as { transaction_ids: string[] }).transaction_ids, ['2.4']);
});
