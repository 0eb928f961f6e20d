// Which Pending nodes a recovered service trusts on their first request after its opening: those
// recorded while it was Recovering (after its recovery transaction, before the members moved it to
// WaitingForRecoveryShares), not those recorded before the recovery nor after that transition.

import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { Store } from '../../src/kv/store.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { askedWhileRecovering } from '../../src/node/recovery-joiners.js';

function commit(store: Store, seqno: number, write: (tx: Transaction) => void): void {
  const tx = store.beginTransaction();
  write(tx);
  store.commit(tx, BigInt(seqno));
}

const pending = (id: string) => (tx: Transaction) => tx.map(Tables.nodesInfo).set(utf8(id), encodeJson({ status: 'Pending' }));

test('a node recorded while the service was Recovering asked while recovering; before the recovery or once WaitingForRecoveryShares, not', () => {
  const store = new Store();
  commit(store, 1, pending('before'));
  commit(store, 2, (tx) => tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ cert: 'c', status: 'Recovering', current_service_create_txid: '4.2' })));
  commit(store, 3, pending('during'));
  const read = (id: string) => {
    const tx = store.beginTransaction();
    const asked = askedWhileRecovering(tx, id);
    tx.abort();
    return asked;
  };
  assert.equal(read('during'), false, 'not before the members moved it on: the transition marks the end of Recovering');
  commit(store, 4, (tx) => tx.map(Tables.lastRecoveryType).set(SINGLETON, encodeJson('RECOVERY_SHARES')));
  commit(store, 5, pending('waiting'));
  assert.deepEqual(['before', 'during', 'waiting', 'unknown'].map(read), [false, true, false, false]);
});
