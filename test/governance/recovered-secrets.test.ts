// Disaster recovery's governance core, as CCF's: members submit their decrypted shares (stored
// sealed under the recovering service's latest secret), the shares rebuild the recovery key and
// every ledger secret of the old ledger comes back from its public tables: on a real node's ledger
// after two rekeys, again after the recovered service opened and issued shares of its new secret,
// and with the errors CCF gives for too few, wrong or malformed shares.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fromBase64, fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { randomBytes } from '../../src/crypto/random.js';
import { rsaOaepDecrypt } from '../../src/crypto/rsa-oaep.js';
import { decodeShare, encodeShare, SHARE_BYTES } from '../../src/crypto/secret-sharing.js';
import type { KeyPair } from '../../src/crypto/signing.js';
import { CocoError } from '../../src/errors.js';
import { encodeJson, readServiceConfig, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { restoreLedgerSecrets, type HistoricalSecretWrite } from '../../src/governance/recovered-secrets.js';
import { HISTORICAL_LEDGER_SECRET_MAP, issueRecoveryShares, recordPreviousLedgerSecret, RECOVERY_SHARES_MAP } from '../../src/governance/recovery-shares.js';
import { clearSubmittedRecoveryShares, isFullKey, submissionMessage, submitRecoveryShare, submittedShares, SUBMITTED_SHARES_MAP } from '../../src/governance/submitted-shares.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { openEntry } from '../../src/ledger/entry-sealing.js';
import { LedgerSecrets, type LedgerSecret } from '../../src/ledger/ledger-secrets.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import type { Node } from '../../src/node/node.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { writeRecord } from '../support/records.js';
import { rsaKeyPair } from '../support/rsa-key-pair.js';

const WAIT_MS = 60_000;
const THRESHOLD = 2;

interface RecoveryMember {
  id: string;
  role: 'Participant' | 'Owner';
  encryption: KeyPair;
}

/** Three recovery participants and one recovery owner. */
function recoveryMembers(): RecoveryMember[] {
  return (['Participant', 'Participant', 'Participant', 'Owner'] as const).map((role, i) => ({ id: toHex(sha256(utf8(`recovery member ${i}`))), role, encryption: rsaKeyPair() }));
}

/** Makes `members` Active recovery members and sets the recovery threshold, as governance would. */
function addRecoveryMembers(tx: Transaction, members: readonly RecoveryMember[]): void {
  for (const { id, role, encryption } of members) {
    tx.map(Tables.membersInfo).set(utf8(id), encodeJson({ status: 'Active', recovery_role: role }));
    tx.map(Tables.membersEncryptionPublicKeys).set(utf8(id), utf8(encryption.publicKeyPem));
  }
  tx.map(Tables.serviceConfig).set(SINGLETON, encodeJson({ ...readServiceConfig(tx), recovery_threshold: THRESHOLD }));
}

/** What a member's script does: decrypts its share of `recoveryShares` (as stored) with its encryption key. */
function decryptShare(recoveryShares: Uint8Array, member: RecoveryMember): Uint8Array {
  const { encrypted_shares } = JSON.parse(fromUtf8(recoveryShares)) as { encrypted_shares: Record<string, string> };
  return rsaOaepDecrypt(member.encryption.privateKeyPem, fromBase64(encrypted_shares[member.id]!));
}

function run<T>(node: Node, effect: (tx: Transaction) => T): T {
  return node.execute((tx) => ({ result: effect(tx), applyWrites: true })).result;
}

function ledgerEntries(ledgerDirectory: string): LedgerEntry[] {
  return listChunkFiles(ledgerDirectory).flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries);
}

/** The writes to `table` in `entries`, with their seqnos. */
function writesTo(entries: readonly LedgerEntry[], table: string): HistoricalSecretWrite[] {
  return entries.flatMap((entry) => entry.publicMaps.filter((map) => map.name === table).flatMap((map) => map.writes.map((write) => ({ seqno: entry.txId.seqno, value: write.value }))));
}

/** Commits `effect` in its own transaction of `store`; returns its result and the version it committed at. */
function commit<T>(store: Store, effect: (tx: Transaction) => T): { result: T; seqno: number } {
  const tx = store.beginTransaction();
  const result = effect(tx);
  const seqno = store.version + 1n;
  store.commit(tx, seqno);
  return { result, seqno: Number(seqno) };
}

function read(store: Store, table: string): Uint8Array | undefined {
  return store.beginTransaction().map(table).get(SINGLETON);
}

function recordIn(entry: LedgerEntry, secrets: LedgerSecrets): string {
  const records = openEntry(entry, secrets.keyFor(entry.txId.seqno)).find((map) => map.name === 'records')!;
  return fromUtf8(records.writes[0]!.value);
}

test('the shares of two recovery members restore every ledger secret of a real ledger after two rekeys, and a recovered service that opened is recoverable again', { timeout: WAIT_MS }, async (t) => {
  const instance = startInProcessNode({ encryptionKey: true });
  t.after(() => instance.close());
  const { node } = instance;
  const members = recoveryMembers();
  run(node, (tx) => addRecoveryMembers(tx, members));
  // As transition_service_to_open: shares of the first secret, and where the chain starts.
  run(node, (tx) => node.governanceHost().atServiceOpening(tx));
  const eras = [writeRecord(node, 'era', 'first secret')];
  run(node, (tx) => node.governanceHost().triggerLedgerRekey(tx));
  eras.push(writeRecord(node, 'era', 'second secret'));
  run(node, (tx) => node.governanceHost().triggerLedgerRekey(tx));
  eras.push(writeRecord(node, 'era', 'third secret'));
  await node.waitForCommit(eras.at(-1)!.seqno);
  const nodeSecrets = node.options.ledgerSecrets.all();
  assert.equal(nodeSecrets.length, 3);

  // The disaster: only the ledger files remain. A public-only replay, as the recovering node does.
  const entries = ledgerEntries(join(instance.dir, 'ledger'));
  const recovered = new Store();
  for (const entry of entries) recovered.applyWriteSet({ public: entry.publicMaps, private: [] }, BigInt(entry.txId.seqno));
  const historicalWrites = writesTo(entries, HISTORICAL_LEDGER_SECRET_MAP);
  assert.equal(historicalWrites.length, 3, 'the opening and each rekey wrote the historical table');
  const recoveryShares = writesTo(entries, RECOVERY_SHARES_MAP).at(-1)!.value;
  assert.deepEqual(read(recovered, RECOVERY_SHARES_MAP), recoveryShares);

  // The recovering service's own secret, from the seqno after the old ledger's last one.
  const lastOldSeqno = entries.at(-1)!.txId.seqno;
  const newSecret: LedgerSecret = { fromSeqno: lastOldSeqno + 1, key: randomBytes(32) };
  const [first, second] = members;
  const counts = [first!, second!].map((member) => commit(recovered, (tx) => submitRecoveryShare(tx, member.id, decryptShare(recoveryShares, member), newSecret.key)).result);
  assert.deepEqual(counts, [1, 2]);
  const threshold = readServiceConfig(recovered.beginTransaction())!.recovery_threshold;
  const restored = restoreLedgerSecrets({
    recoveryShares,
    historicalWrites,
    submittedShares: submittedShares(recovered.beginTransaction(), newSecret.key),
    recoveryThreshold: threshold,
  });
  assert.deepEqual(restored, nodeSecrets, 'the node\'s three secrets, with the seqnos they apply from');
  const restoredSecrets = new LedgerSecrets(restored);
  const eraEntries = eras.map(({ seqno }) => entries.find((entry) => entry.txId.seqno === seqno)!);
  assert.deepEqual(eraEntries.map((entry) => recordIn(entry, restoredSecrets)), ['first secret', 'second secret', 'third secret']);

  // The recovered service opens (facts §6.2 step 3): shares of its new secret, under which the old
  // ledger's last secret is chained, stored where the old ledger's last such write was.
  const opening = commit(recovered, (tx) => {
    clearSubmittedRecoveryShares(tx);
    assert.equal(issueRecoveryShares(tx, newSecret.key, { rekeying: true }), true);
    recordPreviousLedgerSecret(tx, newSecret.key, restored.at(-1), newSecret.fromSeqno);
  });
  const chained = JSON.parse(fromUtf8(read(recovered, HISTORICAL_LEDGER_SECRET_MAP)!)) as { previous_ledger_secret: { version: number; previous_secret_stored_version: number }; next_version: number };
  assert.equal(chained.previous_ledger_secret.version, nodeSecrets[2]!.fromSeqno);
  assert.equal(chained.previous_ledger_secret.previous_secret_stored_version, historicalWrites.at(-1)!.seqno);
  assert.equal(chained.next_version, newSecret.fromSeqno);
  const reissued = read(recovered, RECOVERY_SHARES_MAP)!;
  assert.equal((JSON.parse(fromUtf8(reissued)) as { previous_secret_stored_version?: number }).previous_secret_stored_version, undefined, 'as CCF: the opening stores the previous secret itself');
  assert.equal(submittedShares(recovered.beginTransaction(), newSecret.key).length, 0);

  // A second disaster: the owner's whole key alone restores the old secrets and the recovered service's.
  const owner = members[3]!;
  const again = restoreLedgerSecrets({
    recoveryShares: reissued,
    historicalWrites: [...historicalWrites, { seqno: opening.seqno, value: read(recovered, HISTORICAL_LEDGER_SECRET_MAP)! }],
    submittedShares: [decryptShare(reissued, owner)],
    recoveryThreshold: threshold,
  });
  assert.deepEqual(again, [...nodeSecrets, newSecret]);

  // Later shares name where the old ledger's last secret is stored: the opening's write (facts §6.3).
  commit(recovered, (tx) => issueRecoveryShares(tx, newSecret.key));
  assert.equal((JSON.parse(fromUtf8(read(recovered, RECOVERY_SHARES_MAP)!)) as { previous_secret_stored_version?: number }).previous_secret_stored_version, opening.seqno);
});

/** A service opened at seqno 1 with `members`, on a store alone: its tables as a recovery reads them. */
function openedService(members: readonly RecoveryMember[]): { store: Store; secret: LedgerSecret; historicalWrites: HistoricalSecretWrite[]; recoveryShares: Uint8Array } {
  const store = new Store();
  const secret: LedgerSecret = { fromSeqno: 1, key: randomBytes(32) };
  const { seqno } = commit(store, (tx) => {
    addRecoveryMembers(tx, members);
    issueRecoveryShares(tx, secret.key);
    recordPreviousLedgerSecret(tx, secret.key, undefined, secret.fromSeqno);
  });
  return { store, secret, historicalWrites: [{ seqno, value: read(store, HISTORICAL_LEDGER_SECRET_MAP)! }], recoveryShares: read(store, RECOVERY_SHARES_MAP)! };
}

function failsWith(code: string, message: string | RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CocoError && error.code === code && (typeof message === 'string' ? error.message.startsWith(message) : message.test(error.message));
}

test('combining refuses too few shares, wrong shares and malformed ones with CCF\'s messages; a recovery owner\'s whole key suffices', () => {
  const members = recoveryMembers();
  const service = openedService(members);
  const restore = (shares: Uint8Array[]) => restoreLedgerSecrets({ recoveryShares: service.recoveryShares, historicalWrites: service.historicalWrites, submittedShares: shares, recoveryThreshold: THRESHOLD });
  const [first, second, third, owner] = members.map((member) => decryptShare(service.recoveryShares, member));

  assert.deepEqual(restore([first!, third!]), [service.secret]);
  assert.deepEqual(restore([second!, third!, first!]), [service.secret], 'more shares than the threshold');
  assert.deepEqual(restore([owner!]), [service.secret], 'a recovery owner\'s whole key alone');
  assert.deepEqual(restore([first!, owner!]), [service.secret], 'a whole key among partial shares');

  assert.throws(() => restore([first!]), failsWith('NotEnoughRecoveryShares', 'Error combining recovery shares: only 1 recovery shares were submitted but recovery threshold is 2'));
  assert.throws(() => restore([]), failsWith('NotEnoughRecoveryShares', 'Error combining recovery shares: only 0 recovery shares were submitted but recovery threshold is 2'));
  // A share of the right size and x but another value: only the unwrapping's tag finds it.
  const wrong = decodeShare(second!);
  wrong.y[0] = (wrong.y[0]! + 1) % (2 ** 31 - 1);
  assert.throws(() => restore([first!, encodeShare(wrong)]), failsWith('InvalidRecoveryShare', 'Unwrapping latest ledger secret failed'));
  // A share of an earlier issue, kept by a member after a refresh.
  commit(service.store, (tx) => issueRecoveryShares(tx, service.secret.key));
  const stale = decryptShare(read(service.store, RECOVERY_SHARES_MAP)!, members[1]!);
  assert.throws(() => restore([first!, stale]), failsWith('InvalidRecoveryShare', 'Unwrapping latest ledger secret failed'));
  assert.throws(() => restore([first!, first!]), failsWith('InvalidRecoveryShare', /^Error combining recovery shares: two shares have the same x/));
  assert.throws(() => restore([first!, second!.subarray(0, 43)]), failsWith('InvalidRecoveryShare', 'Error combining recovery shares: decrypted share of 43 bytes is not an 44-byte long new-style share.'));

  // A write seen twice (a snapshot's value, then the entry that made it) restores its secret once, as CCF skips it.
  const rekeyed: LedgerSecret = { fromSeqno: Number(service.store.version) + 2, key: randomBytes(32) };
  const rekey = commit(service.store, (tx) => {
    issueRecoveryShares(tx, rekeyed.key, { rekeying: true });
    recordPreviousLedgerSecret(tx, rekeyed.key, service.secret);
  });
  const rekeyWrite = { seqno: rekey.seqno, value: read(service.store, HISTORICAL_LEDGER_SECRET_MAP)! };
  const rekeyShares = read(service.store, RECOVERY_SHARES_MAP)!;
  assert.deepEqual(
    restoreLedgerSecrets({ recoveryShares: rekeyShares, historicalWrites: [...service.historicalWrites, rekeyWrite, rekeyWrite], submittedShares: [decryptShare(rekeyShares, members[3]!)], recoveryThreshold: THRESHOLD }),
    [service.secret, rekeyed],
  );

  assert.throws(
    () => restoreLedgerSecrets({ recoveryShares: service.recoveryShares, historicalWrites: [], submittedShares: [owner!], recoveryThreshold: THRESHOLD }),
    failsWith('RecoveryLedgerSecretsMissing', 'No recovery ledger secrets'),
  );
  assert.throws(
    () => restoreLedgerSecrets({ recoveryShares: undefined, historicalWrites: service.historicalWrites, submittedShares: [owner!], recoveryThreshold: THRESHOLD }),
    failsWith('RecoveryLedgerSecretsMissing', 'Failed to retrieve current recovery shares info'),
  );
});

test('a submitted share is stored sealed under the latest ledger secret, once per member, and refused at submission unless 44 bytes', () => {
  const members = recoveryMembers();
  const service = openedService(members);
  const latest = randomBytes(32);
  const [first, second, , owner] = members.map((member) => decryptShare(service.recoveryShares, member));
  const submit = (member: RecoveryMember, share: Uint8Array) => commit(service.store, (tx) => submitRecoveryShare(tx, member.id, share, latest)).result;

  assert.equal(submit(members[0]!, second!), 1);
  assert.equal(submit(members[0]!, first!), 1, 'a second submission replaces the member\'s own');
  assert.deepEqual(submittedShares(service.store.beginTransaction(), latest), [first]);

  const stored = service.store.beginTransaction().map(SUBMITTED_SHARES_MAP).get(utf8(members[0]!.id))!;
  const sealed = fromBase64(JSON.parse(fromUtf8(stored)) as string);
  assert.equal(sealed.length, 16 + 12 + SHARE_BYTES, 'tag, IV, then the sealed share');
  assert.ok(!Buffer.from(sealed).includes(Buffer.from(first!)), 'the raw share is not in the public table');
  assert.throws(() => submittedShares(service.store.beginTransaction(), service.secret.key), failsWith('DecryptionFailed', `Decrypting submitted shares failed: the share of member ${members[0]!.id}`));

  assert.throws(() => submit(members[1]!, second!.subarray(0, 43)), failsWith('InvalidInput', 'a recovery share is 44 bytes'));
  assert.throws(() => submit(members[1]!, new Uint8Array(256)), failsWith('InvalidInput', 'a recovery share is 44 bytes'));
  assert.equal(submit(members[1]!, second!), 2);
  const submitted: [string, Uint8Array][] = [[members[0]!.id, first!], [members[1]!.id, second!]];
  const inIdOrder = submitted.sort(([a], [b]) => a.localeCompare(b)).map(([, share]) => share);
  assert.deepEqual(submittedShares(service.store.beginTransaction(), latest), inIdOrder, 'in member ID order');

  commit(service.store, clearSubmittedRecoveryShares);
  assert.deepEqual(submittedShares(service.store.beginTransaction(), latest), []);
  assert.equal(submit(members[3]!, owner!), 1);

  assert.equal(isFullKey(owner!), true);
  assert.equal(isFullKey(first!), false);
  assert.equal(isFullKey(owner!.subarray(0, 43)), false);
});

test('the answer to a submission is CCF\'s text', () => {
  const cases: [submitted: number, threshold: number, fullKey: boolean, message: string][] = [
    [1, 2, false, '1/2 recovery shares successfully submitted'],
    [2, 2, false, '2/2 recovery shares successfully submitted\nEnd of recovery procedure initiated'],
    [3, 2, false, '3/2 recovery shares successfully submitted\nEnd of recovery procedure initiated'],
    [1, 3, true, 'Full recovery key successfully submitted\nEnd of recovery procedure initiated'],
  ];
  for (const [submitted, threshold, fullKey, message] of cases) assert.equal(submissionMessage(submitted, threshold, fullKey), message);
});
