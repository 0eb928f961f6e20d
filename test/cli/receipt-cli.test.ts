import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { ethereumClaimsDigest } from '../../src/ethereum/receipt-claims.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { runCoco } from '../support/run-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-receipt-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("coco receipt verify checks --claims-digest and --ethereum-tx against a COSE receipt's leaf components", async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 2 });
  t.after(close);
  const ethereumTx = sha256(utf8('an Ethereum transaction'));
  const claims = ethereumClaimsDigest(ethereumTx);
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8('k'), utf8('v'));
    return { result: undefined, applyWrites: true, claimsDigest: claims };
  });
  await node.waitForCommit(txId!.seqno);
  const receipt = join(scratch, 'receipt.cose');
  const serviceCert = join(scratch, 'service_cert.pem');
  writeFileSync(receipt, node.coseReceipt(txId!));
  writeFileSync(serviceCert, node.options.service.certPem);

  for (const expected of [['--claims-digest', toHex(claims)], ['--ethereum-tx', `0x${toHex(ethereumTx)}`]]) {
    const result = runCoco(['receipt', 'verify', receipt, '--service-cert', serviceCert, ...expected]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`for transaction ${txId!.view}\\.${txId!.seqno}: .*claims digest ${toHex(claims)} as expected`));
  }
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
