import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { ethers } from 'ethers';
import { Account, Address, KECCAK256_NULL } from '@ethereumjs/util';
import { CocoError } from '../../src/errors.js';
import { Store } from '../../src/kv/store.js';
import { EntryType } from '../../src/ledger/entry.js';
import { sealEntry } from '../../src/ledger/entry-sealing.js';
import { setBalance } from '../../src/ethereum/account-state.js';
import {
  decodeAccount,
  decodeBlock,
  decodeReceipt,
  decodeTransaction,
  encodeAccount,
  encodeBlock,
  encodeReceipt,
  encodeTransaction,
  ethereumMaps,
  storageKey,
  type ReceiptRecord,
} from '../../src/ethereum/ethereum-maps.js';
import { executeTransaction } from '../../src/ethereum/execute.js';
import { Blocks } from '../../src/ethereum/blocks.js';
import { KvStateManager } from '../../src/ethereum/kv-state-manager.js';
import { revertReason } from '../../src/ethereum/revert.js';
import { decodeRawTransaction } from '../../src/ethereum/sender.js';
import { contracts } from './contracts.js';
import { ETHER, TestChain, bytes, wallet } from './harness.js';

const maps = ethereumMaps();
const address = new Address(new Uint8Array(20).fill(0xaa));
const slot = (n: number): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? n : 0));

function malformed(error: unknown): boolean {
  return error instanceof CocoError && error.code === 'EthereumStateMalformed';
}

describe('map layout and encodings', () => {
  test('maps are private by default and all public with the option', () => {
    const names = Object.values(ethereumMaps());
    assert.equal(names.length, 8);
    assert.ok(names.every((name) => name.startsWith('coco.ethereum.')));
    assert.ok(Object.values(ethereumMaps(true)).every((name) => name.startsWith('public:coco.ethereum.')));
  });

  test('records round-trip, and truncated or padded bytes are refused', () => {
    const account = { nonce: 5n, balance: 2n ** 200n + 1n, codeHash: new Uint8Array(32).fill(3) };
    const receipt: ReceiptRecord = {
      status: 1,
      gasUsed: 51_234n,
      contractAddress: new Uint8Array(20).fill(9),
      logs: [
        { address: new Uint8Array(20).fill(1), topics: [new Uint8Array(32).fill(2), new Uint8Array(32).fill(4)], data: Uint8Array.of(1, 2, 3) },
        { address: new Uint8Array(20).fill(5), topics: [], data: new Uint8Array(0) },
      ],
    };
    const transaction = { blockNumber: 12n, sender: new Uint8Array(20).fill(7), raw: Uint8Array.of(0x02, 0xc0) };
    const block = { hash: new Uint8Array(32).fill(8), timestamp: 1_700_000_000n, txHash: new Uint8Array(32).fill(6) };
    const cases: [Uint8Array, (b: Uint8Array) => unknown, unknown][] = [
      [encodeAccount(account), decodeAccount, account],
      [encodeAccount({ nonce: 0n, balance: 0n, codeHash: undefined }), decodeAccount, { nonce: 0n, balance: 0n, codeHash: undefined }],
      [encodeReceipt(receipt), decodeReceipt, receipt],
      [encodeReceipt({ status: 0, gasUsed: 21_000n, contractAddress: undefined, logs: [] }), decodeReceipt, { status: 0, gasUsed: 21_000n, contractAddress: undefined, logs: [] }],
      [encodeTransaction(transaction), decodeTransaction, transaction],
      [encodeBlock(block), decodeBlock, block],
    ];
    for (const [encoded, decode, expected] of cases) {
      assert.deepEqual(decode(encoded), expected);
      if (decode !== decodeTransaction) {
        assert.throws(() => decode(encoded.subarray(0, encoded.length - 1)), malformed);
        assert.throws(() => decode(Uint8Array.from([...encoded, 0])), malformed);
      }
    }
    assert.equal(encodeAccount({ nonce: 1n, balance: 0n, codeHash: undefined }).length, 9, 'an account without code takes 9 bytes');
  });
});

describe('KV state manager', () => {
  function bound(): { store: Store; state: KvStateManager; tx: ReturnType<Store['beginTransaction']> } {
    const store = new Store();
    const state = new KvStateManager(new Blocks(maps, 1n));
    const tx = store.beginTransaction();
    state.bind(tx, 1n);
    return { store, state, tx };
  }

  test('changes stay in memory until flush, then reach the KV transaction', async () => {
    const { state, tx } = bound();
    await state.putAccount(address, new Account(1n, 10n));
    await state.putStorage(address, slot(1), Uint8Array.of(0, 0, 7));
    assert.equal(tx.hasWrites, false);
    assert.equal((await state.getAccount(address))?.balance, 10n);
    assert.deepEqual(await state.getStorage(address, slot(1)), Uint8Array.of(7));
    state.flush();
    assert.deepEqual(decodeAccount(tx.map(maps.accounts).get(address.bytes)!), { nonce: 1n, balance: 10n, codeHash: undefined });
    assert.deepEqual(tx.map(maps.storage).get(storageKey(address.bytes, slot(1))), Uint8Array.of(7));
  });

  test('revert undoes exactly what changed since the checkpoint; commit keeps it for the outer level', async () => {
    const { state } = bound();
    await state.putStorage(address, slot(1), Uint8Array.of(1));
    await state.checkpoint();
    await state.putStorage(address, slot(1), Uint8Array.of(2));
    await state.checkpoint();
    await state.putStorage(address, slot(2), Uint8Array.of(3));
    await state.putAccount(address, new Account(4n, 4n));
    await state.commit();
    assert.deepEqual(await state.getStorage(address, slot(2)), Uint8Array.of(3));
    await state.revert();
    assert.deepEqual(await state.getStorage(address, slot(1)), Uint8Array.of(1));
    assert.deepEqual(await state.getStorage(address, slot(2)), new Uint8Array(0));
    assert.equal(await state.getAccount(address), undefined);
  });

  test('an account returned by getAccount can be changed without changing the state', async () => {
    const { state } = bound();
    await state.putAccount(address, new Account(0n, 100n));
    const account = await state.getAccount(address);
    account!.balance = 1n;
    assert.equal((await state.getAccount(address))?.balance, 100n);
  });

  test('deleting an account deletes its stored storage; zero values remove slots', async () => {
    const { store, state, tx } = bound();
    await state.putAccount(address, new Account(1n, 1n));
    await state.putStorage(address, slot(1), Uint8Array.of(1));
    await state.putStorage(address, slot(2), Uint8Array.of(2));
    const other = new Address(new Uint8Array(20).fill(0xab));
    await state.putAccount(other, new Account(1n, 1n));
    await state.putStorage(other, slot(1), Uint8Array.of(9));
    state.flush();
    state.release();
    store.commit(tx, 1n);

    const next = store.beginTransaction();
    state.bind(next, 1n);
    await state.putStorage(address, slot(2), new Uint8Array(0));
    state.flush();
    state.release();
    store.commit(next, 2n);
    assert.equal(store.beginTransaction().map(maps.storage).get(storageKey(address.bytes, slot(2))), undefined);

    const last = store.beginTransaction();
    state.bind(last, 1n);
    await state.deleteAccount(address);
    assert.deepEqual(await state.getStorage(address, slot(1)), new Uint8Array(0), 'a deleted account reads as empty at once');
    state.flush();
    state.release();
    store.commit(last, 3n);
    const after = store.beginTransaction();
    assert.equal(after.map(maps.accounts).get(address.bytes), undefined);
    assert.equal(after.map(maps.storage).get(storageKey(address.bytes, slot(1))), undefined);
    assert.deepEqual(after.map(maps.storage).get(storageKey(other.bytes, slot(1))), Uint8Array.of(9), 'the next account keeps its storage');
  });

  test('code is stored by hash, and only while an account refers to it', async () => {
    const { state, tx } = bound();
    const code = Uint8Array.of(0x60, 0x00, 0x60, 0x00, 0xf3);
    await state.checkpoint();
    await state.putCode(address, code);
    assert.deepEqual(await state.getCode(address), code);
    assert.notDeepEqual((await state.getAccount(address))?.codeHash, KECCAK256_NULL);
    await state.commit();
    const dropped = new Address(new Uint8Array(20).fill(0xcc));
    await state.putCode(dropped, Uint8Array.of(0x00));
    await state.deleteAccount(dropped);
    state.flush();
    assert.equal(tx.map(maps.code).size(), 1);
    assert.equal(await state.getCodeSize(address), 5);
  });

  test('the original value of a slot is the stored one, whatever the transaction wrote since', async () => {
    const { store, state, tx } = bound();
    await state.putAccount(address, new Account(1n, 0n));
    await state.putStorage(address, slot(1), Uint8Array.of(5));
    state.flush();
    state.release();
    store.commit(tx, 1n);
    state.bind(store.beginTransaction(), 1n);
    await state.putStorage(address, slot(1), Uint8Array.of(6));
    assert.deepEqual(await state.originalStorageCache.get(address, slot(1)), Uint8Array.of(5));
    state.release();
  });

  test('outside a run the state manager refuses to read', async () => {
    const state = new KvStateManager(new Blocks(maps, 1n));
    await assert.rejects(state.getAccount(address), (error: unknown) => error instanceof CocoError && error.code === 'InternalError');
  });
});

describe('confidentiality', () => {
  async function transferWriteSet(publicState: boolean) {
    const chain = await TestChain.create({ publicState });
    const alice = wallet(0);
    const bob = wallet(1);
    await chain.fund(alice.address, ETHER);
    const token = new ethers.Interface(contracts().Token.abi as ethers.InterfaceAbi);
    const deployed = await chain.send(alice, { data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['Secret', 'SCRT', 123_456_789n])]) });
    const raw = await chain.sign(alice, { to: ethers.hexlify(deployed.receipt.contractAddress!), data: token.encodeFunctionData('transfer', [bob.address, 987_654n]) });
    const tx = chain.store.beginTransaction();
    await executeTransaction(tx, decodeRawTransaction(raw, chain.context.common), chain.context);
    return { writeSet: chain.store.commit(tx, chain.store.version + 1n), raw, secrets: [bytes(bob.address), bytes(alice.address), raw] };
  }

  test('with private maps, a sealed Ethereum write set holds none of its values in clear', async () => {
    const { writeSet, secrets } = await transferWriteSet(false);
    assert.deepEqual(writeSet.public, [], 'nothing in the public domain');
    assert.ok(writeSet.private.length >= 5);
    const sealed = Buffer.from(
      sealEntry({ txId: { view: 2, seqno: 9 }, entryType: EntryType.WriteSet, publicMaps: writeSet.public, privateMaps: writeSet.private, key: randomBytes(32) }),
    );
    for (const secret of secrets) assert.ok(!sealed.includes(Buffer.from(secret)), 'an address or the raw transaction appears in clear');
    assert.ok(!sealed.includes(Buffer.from('coco.ethereum')), 'even the map names are encrypted');
  });

  test('with public maps, the same write set is readable in the public domain', async () => {
    const { writeSet, raw } = await transferWriteSet(true);
    assert.deepEqual(writeSet.private, []);
    const sealed = Buffer.from(
      sealEntry({ txId: { view: 2, seqno: 9 }, entryType: EntryType.WriteSet, publicMaps: writeSet.public, privateMaps: writeSet.private, key: randomBytes(32) }),
    );
    assert.ok(sealed.includes(Buffer.from(raw)));
  });
});

describe('blocks', () => {
  test('the latest committed block is found among pending ones', async () => {
    const chain = await TestChain.create();
    await chain.fund(wallet(0).address, ETHER);
    const seqnos: bigint[] = [];
    for (let i = 0; i < 9; i++) {
      await chain.send(wallet(0), { to: wallet(1).address, value: 1n });
      seqnos.push(chain.store.version);
    }
    chain.read((tx) => {
      for (let committed = 0; committed <= 9; committed++) {
        const limit = committed === 0 ? 0n : (seqnos[committed - 1] as bigint);
        assert.equal(chain.context.blocks.latestCommitted(tx, (seqno) => seqno <= limit), BigInt(committed));
      }
    });
  });

  test('genesis is block 0 and funding is not a block', async () => {
    const chain = await TestChain.create();
    await chain.write((tx) => setBalance(tx, chain.context.maps, bytes(wallet(0).address), 5n));
    chain.read((tx) => {
      assert.equal(chain.context.blocks.head(tx), 0n);
      const genesis = chain.context.blocks.get(tx, 0n);
      assert.equal(genesis?.txHash, undefined);
      assert.equal(chain.context.blocks.numberOf(tx, genesis!.hash), 0n);
      assert.equal(chain.context.blocks.get(tx, 1n), undefined);
    });
    assert.throws(() => chain.read((tx) => setBalance(tx, chain.context.maps, bytes(wallet(0).address), -1n)), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArgument');
  });
});

test("revert reasons decode from Error(string) and Panic(uint256) data only, in geth's words", () => {
  const reason = new ethers.Interface(['error Error(string)']).encodeErrorResult('Error', ['no way']);
  assert.equal(revertReason(bytes(reason)), 'no way');
  assert.equal(revertReason(bytes(reason).subarray(0, 40)), undefined);
  assert.equal(revertReason(bytes(new ethers.Interface(['error Other(string)']).encodeErrorResult('Other', ['x']))), undefined);
  assert.equal(revertReason(new Uint8Array(0)), undefined);
  const panic = (code: bigint) => bytes(new ethers.Interface(['error Panic(uint256)']).encodeErrorResult('Panic', [code]));
  assert.equal(revertReason(panic(0x01n)), 'assert(false)');
  assert.equal(revertReason(panic(0x12n)), 'division or modulo by zero');
  assert.equal(revertReason(panic(0x11n)), 'arithmetic underflow or overflow');
  assert.equal(revertReason(panic(0x99n)), 'unknown panic code: 0x99');
  assert.equal(revertReason(panic(0x01n).subarray(0, 35)), undefined);
});
