// The endorsement of the service identity as a real node writes it: a new service's opening endorses
// its own key from its creation (issued at the node's time of day), and when that service's ledger
// is recovered, the recovered service's opening endorses the previous key for the epoch from its
// creation to its last signature, with that signature's Merkle root, chained to the first
// endorsement; the two verify as a chain against the recovered service's certificate.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { sha256 } from '../../src/crypto/hash.js';
import { randomBytes } from '../../src/crypto/random.js';
import { publicKeyDer } from '../../src/crypto/signing.js';
import { CocoError } from '../../src/errors.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { verifyEndorsementChain } from '../../src/ledger/endorsement-chain.js';
import { decodeEndorsementRecord, PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP, readEndorsementClaims, type IdentityEndorsement } from '../../src/ledger/identity-endorsement.js';
import { decodePrimarySignature, SIGNATURES_MAP, singletonWrite } from '../../src/ledger/signature.js';
import { formatTxId, parseTxId, type TxId } from '../../src/ledger/tx-id.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { endorsePreviousIdentity } from '../../src/node/previous-identity-endorsement.js';
import { writeRecoveryCreate } from '../../src/node/recovery-create.js';
import { writeRecoveryOpen } from '../../src/node/recovery-open.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { writeRecord } from '../support/records.js';

const WAIT_MS = 60_000;
/** The node's time of day: 2025-03-27, as genesis-14's endorsement was issued. */
const WALL_CLOCK_MS = 1_743_112_494_250;

function endorsementIn(tx: Transaction): IdentityEndorsement | undefined {
  const value = tx.map(PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP).get(SINGLETON);
  return value && decodeEndorsementRecord(value);
}

function commit(store: Store, effect: (tx: Transaction) => void): number {
  const tx = store.beginTransaction();
  effect(tx);
  const seqno = store.version + 1n;
  store.commit(tx, seqno);
  return Number(seqno);
}

test("a new service's opening endorses its own key from its creation; its recovery's opening endorses that key for its whole epoch", { timeout: WAIT_MS }, async (t) => {
  const instance = startInProcessNode({ memberEncryptionKey: true, wallClockMs: () => WALL_CLOCK_MS });
  t.after(() => instance.close());
  const { node } = instance;
  const service = node.options.service;
  node.execute((tx) => {
    tx.map(Tables.membersInfo).set(utf8(certificateId(instance.memberCertPem)), encodeJson({ status: 'Active' }));
    return { result: undefined, applyWrites: true };
  });
  // What transition_service_to_open has the node do in the opening transaction.
  const opening = node.execute((tx) => {
    node.governanceHost().atServiceOpening(tx);
    return { result: { record: endorsementIn(tx)!, createTxId: readServiceInfo(tx)!.current_service_create_txid! }, applyWrites: true };
  });
  const { record: self, createTxId } = opening.result;
  assert.deepEqual(self.epochBegin, parseTxId(createTxId));
  assert.equal(self.epochEnd, undefined);
  assert.equal(self.previousVersion, undefined);
  assert.deepEqual(self.endorsingKey, publicKeyDer(service.keyPair.publicKeyPem));
  const claims = readEndorsementClaims(self.endorsement);
  assert.deepEqual(claims.endorsedKey, self.endorsingKey);
  assert.equal(claims.issuedAtSeconds, Math.floor(WALL_CLOCK_MS / 1000));
  assert.deepEqual(verifyEndorsementChain(service.certPem, [self], { serviceCreateTxId: parseTxId(createTxId) }), []);

  // The service signs some more, then is lost: a recovery replays the public domain of its ledger up to the last signature.
  await node.waitForCommit(writeRecord(node, 'before', 'the disaster').seqno);
  const entries = listChunkFiles(join(instance.dir, 'ledger')).flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries);
  const lastSignature = entries.filter((entry) => singletonWrite(entry.publicMaps, SIGNATURES_MAP) !== undefined).at(-1)!;
  const recovered = new Store();
  for (const entry of entries.filter((e) => e.txId.seqno <= lastSignature.txId.seqno)) recovered.applyWriteSet({ public: entry.publicMaps, private: [] }, BigInt(entry.txId.seqno));

  // The recovered service: created two views past the last signature, opened once its shares came back.
  const newService = createServiceIdentity(new Date(), 1);
  const newNode = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  const created: TxId = { view: lastSignature.txId.view + 2, seqno: lastSignature.txId.seqno + 1 };
  commit(recovered, (tx) =>
    writeRecoveryCreate(tx, {
      txId: created,
      serviceCertPem: newService.certPem,
      nodeId: newNode.nodeId,
      nodeInfo: { status: 'Trusted', node_data: {}, public_key: newNode.keyPair.publicKeyPem, quote_info: virtualQuote(newNode.keyPair.publicKeyPem, sha256(utf8('test'))), rpc_interfaces: {} },
      endorsedNodeCertPem: endorseNode(newNode, newService, undefined, new Date(), 1),
    }),
  );
  commit(recovered, (tx) => tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx)!, status: 'WaitingForRecoveryShares' })));
  const latest = { fromSeqno: created.seqno, key: randomBytes(32) };
  const previous = node.options.ledgerSecrets.all().at(-1)!;
  commit(recovered, (tx) => writeRecoveryOpen(tx, { latest, previous, serviceKeyPair: newService.keyPair, issuedAtSeconds: 1_800_000_000 }));

  const endorsement = endorsementIn(recovered.beginTransaction())!;
  assert.deepEqual(endorsement.endorsingKey, publicKeyDer(newService.keyPair.publicKeyPem));
  assert.deepEqual(endorsement.epochBegin, self.epochBegin, "the previous service's epoch, from its creation");
  assert.deepEqual(endorsement.epochEnd, lastSignature.txId, 'to its last signed transaction');
  assert.equal(endorsement.previousVersion, opening.txId!.seqno, 'chained to the self-endorsement');
  const recoveryClaims = readEndorsementClaims(endorsement.endorsement);
  const signedRoot = decodePrimarySignature(singletonWrite(lastSignature.publicMaps, SIGNATURES_MAP)!).root;
  assert.deepEqual(recoveryClaims.lastSignedRoot, signedRoot, "with the last signature's Merkle root");
  assert.equal(recoveryClaims.issuedAtSeconds, 1_800_000_000);
  assert.equal(recoveryClaims.epochEnd, formatTxId(lastSignature.txId));
  const identities = verifyEndorsementChain(newService.certPem, [endorsement, self], { serviceCreateTxId: created });
  assert.deepEqual(identities.map((identity) => identity.keyDer), [publicKeyDer(service.keyPair.publicKeyPem)]);
});

test('a service with an endorsement but no recorded last signed root is not endorsed again: only a recovery records one', { timeout: WAIT_MS }, async (t) => {
  const instance = startInProcessNode({ wallClockMs: () => WALL_CLOCK_MS });
  t.after(() => instance.close());
  const { node } = instance;
  const run = () => node.execute((tx) => {
    endorsePreviousIdentity(tx, node.options.service.keyPair, 1);
    return { result: undefined, applyWrites: true };
  });
  run();
  assert.throws(run, (e: unknown) => e instanceof CocoError && e.code === 'InvalidState' && /Failed to sign previous service identity: no last signed root/.test(e.message));
});
