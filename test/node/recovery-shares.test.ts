// Recovery shares on a real node in this process, with real RSA keys: what a recovery member would
// do in a disaster (decrypt its share, rebuild the wrapping key, unwrap the ledger secret) gives the
// node's ledger secret, after a refresh and after a rekey, and the historical record leads from the
// new secret to the previous one. A rekey never leaves the new secret to no recovery member.

import assert from 'node:assert/strict';
import test from 'node:test';
import { fromBase64, fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { aesGcmDecrypt } from '../../src/crypto/aes-gcm.js';
import { rsaOaepDecrypt } from '../../src/crypto/rsa-oaep.js';
import { decodeShare, recoverSecret, shareKey } from '../../src/crypto/secret-sharing.js';
import { CocoError } from '../../src/errors.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { encodeJson, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { HISTORICAL_LEDGER_SECRET_MAP, RECOVERY_SHARES_MAP } from '../../src/governance/recovery-shares.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';

/** CCF's serialised GCM cipher: tag (16), IV (12), ciphertext. */
function openSealed(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  return aesGcmDecrypt(key, sealed.subarray(16, 28), sealed.subarray(28), sealed.subarray(0, 16));
}

function readJson<T>(instance: InProcessNode, table: string): T | undefined {
  return instance.node.execute((tx) => {
    const value = tx.map(table).get(SINGLETON);
    return { result: value && (JSON.parse(fromUtf8(value)) as T), applyWrites: false };
  }).result;
}

function run(instance: InProcessNode, effect: (tx: Parameters<Parameters<InProcessNode['node']['execute']>[0]>[0]) => void): void {
  instance.node.execute((tx) => {
    effect(tx);
    return { result: undefined, applyWrites: true };
  });
}

/** What member0 would do in a disaster: its share alone (threshold 1) rebuilds the key, which unwraps the secret. */
function recoverLedgerSecret(instance: InProcessNode): Uint8Array {
  const info = readJson<{ wrapped_latest_ledger_secret: string; encrypted_shares: Record<string, string> }>(instance, RECOVERY_SHARES_MAP)!;
  const memberId = certificateId(instance.memberCertPem);
  assert.deepEqual(Object.keys(info.encrypted_shares), [memberId]);
  const share = decodeShare(rsaOaepDecrypt(instance.memberEncryptionKeyPair!.privateKeyPem, fromBase64(info.encrypted_shares[memberId]!)));
  assert.equal(share.x, 1);
  const wrapped = fromBase64(info.wrapped_latest_ledger_secret);
  assert.deepEqual([...wrapped.subarray(16, 28)], new Array(12).fill(0), 'the wrapping key wraps once, with a zero IV');
  return openSealed(shareKey(recoverSecret([share], 1)), wrapped);
}

test('recovery shares open the latest ledger secret, after a refresh and after a rekey; the previous secret is chained to it', async (t) => {
  const instance = startInProcessNode({ encryptionKey: true, memberEncryptionKey: true });
  t.after(() => instance.close());
  const { node } = instance;
  const memberId = certificateId(instance.memberCertPem);
  const secrets = node.options.ledgerSecrets;

  // An Accepted member holds no share yet: there is no one to issue shares to.
  assert.throws(() => run(instance, (tx) => node.governanceHost().triggerRecoverySharesRefresh(tx)), (e: unknown) => e instanceof CocoError && e.code === 'NoRecoveryMembers');
  run(instance, (tx) => tx.map(Tables.membersInfo).set(utf8(memberId), encodeJson({ status: 'Active' })));

  // As the service opens: shares of the first secret, and the chain's start.
  run(instance, (tx) => node.governanceHost().atServiceOpening(tx));
  assert.deepEqual(recoverLedgerSecret(instance), secrets.all()[0]!.key);
  assert.deepEqual(readJson(instance, HISTORICAL_LEDGER_SECRET_MAP), { next_version: 1 });

  // A refresh issues new shares of the same secret.
  const before = readJson<{ encrypted_shares: Record<string, string> }>(instance, RECOVERY_SHARES_MAP)!;
  run(instance, (tx) => node.governanceHost().triggerRecoverySharesRefresh(tx));
  assert.notEqual(readJson<{ encrypted_shares: Record<string, string> }>(instance, RECOVERY_SHARES_MAP)!.encrypted_shares[memberId], before.encrypted_shares[memberId]);
  assert.deepEqual(recoverLedgerSecret(instance), secrets.all()[0]!.key);

  // A rekey: the shares open the new secret, which opens the previous one.
  run(instance, (tx) => node.governanceHost().triggerLedgerRekey(tx));
  const [first, second] = secrets.all();
  assert.deepEqual(recoverLedgerSecret(instance), second!.key);
  const history = readJson<{ previous_ledger_secret: { encrypted_data: string; version: number; previous_secret_stored_version?: number } }>(instance, HISTORICAL_LEDGER_SECRET_MAP)!;
  assert.equal(history.previous_ledger_secret.version, first!.fromSeqno);
  assert.equal(typeof history.previous_ledger_secret.previous_secret_stored_version, 'number');
  assert.deepEqual(openSealed(second!.key, fromBase64(history.previous_ledger_secret.encrypted_data)), first!.key);
  // As CCF: the rekey's own shares do not name where the previous secret is stored; later ones do.
  type Shares = { previous_secret_stored_version?: number };
  assert.equal(readJson<Shares>(instance, RECOVERY_SHARES_MAP)!.previous_secret_stored_version, undefined);
  run(instance, (tx) => node.governanceHost().triggerRecoverySharesRefresh(tx));
  assert.equal(readJson<Shares>(instance, RECOVERY_SHARES_MAP)!.previous_secret_stored_version, second!.fromSeqno - 1);
  assert.deepEqual(recoverLedgerSecret(instance), second!.key);

  // A threshold above the recovery participants is refused, naming both.
  run(instance, (tx) => tx.map(Tables.serviceConfig).set(SINGLETON, encodeJson({ recovery_threshold: 2 })));
  assert.throws(() => run(instance, (tx) => node.governanceHost().triggerRecoverySharesRefresh(tx)), /recovery threshold 2 is above the 1 active recovery participants/);

  // With no recovery member left, a rekey is refused, as CCF's: no one could recover the new secret.
  run(instance, (tx) => tx.map(Tables.membersInfo).set(utf8(memberId), encodeJson({ status: 'Accepted' })));
  const shares = readJson(instance, RECOVERY_SHARES_MAP);
  assert.throws(() => run(instance, (tx) => node.governanceHost().triggerLedgerRekey(tx)), (e: unknown) => e instanceof CocoError && e.code === 'NoRecoveryMembers');
  assert.deepEqual(readJson(instance, RECOVERY_SHARES_MAP), shares);
  assert.equal(secrets.all().length, 2);
});

test('a service opened without recovery members rekeys without recovery shares', async (t) => {
  const instance = startInProcessNode({ encryptionKey: true });
  t.after(() => instance.close());
  instance.node.execute((tx) => {
    instance.node.governanceHost().triggerLedgerRekey(tx);
    return { result: undefined, applyWrites: true };
  });
  assert.equal(instance.node.options.ledgerSecrets.all().length, 2);
  assert.equal(readJson(instance, RECOVERY_SHARES_MAP), undefined);
});
