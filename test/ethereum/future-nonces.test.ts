// Transactions sent ahead of their sender's nonce wait, briefly, for the ones before them: sends of
// consecutive nonces that arrive out of order all run, in nonce order; a gap nobody fills is refused
// once the wait is over; a transaction too far ahead is refused at once; others are not held up; one
// of the same sender and nonce as a waiting one replaces it on geth's terms, or is refused.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { ethers } from 'ethers';
import { ethereumMethods } from '../../src/ethereum/eth-methods.js';
import { FutureNonces } from '../../src/ethereum/future-nonces.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { FUTURE_NONCES_PER_SENDER_MAX } from '../../src/ethereum/limits.js';
import { CHAIN_ID, ETHER, TestChain, wallet } from './harness.js';
import { MemoryBackend } from './memory-backend.js';

const alice = wallet(0);
const bob = wallet(1);
/** The signed bytes of a held transaction where the test does not look at them. */
const NO_RAW = new Uint8Array(0);

async function setup(futureNonceWaitMs: number): Promise<{ chain: TestChain; methods: JsonRpcMethods }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, 100n * ETHER);
  await chain.fund(bob.address, 100n * ETHER);
  return { chain, methods: ethereumMethods(new MemoryBackend(chain), chain.context, { clientVersion: 'Coco/test', futureNonceWaitMs }) };
}

async function send(methods: JsonRpcMethods, raw: Uint8Array): Promise<{ result?: string; error?: { code: number; message: string } }> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [ethers.hexlify(raw)] });
  return JSON.parse((await handleJsonRpc(body, methods))!) as { result?: string; error?: { code: number; message: string } };
}

/** The v, r, s fields geth shows of a typed transaction signed as `raw`. */
function signatureFields(raw: Uint8Array): { v: string; r: string; s: string } {
  const signature = ethers.Transaction.from(ethers.hexlify(raw)).signature!;
  return { v: ethers.toQuantity(signature.yParity), r: ethers.toQuantity(signature.r), s: ethers.toQuantity(signature.s) };
}

async function call(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<unknown> {
  return (JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result: unknown }).result;
}

/**
 * eth_getTransactionByHash of `hash` once the node shows it: a send just made reaches its wait a few
 * turns later. Asks until `t` ends (its timeout fails it).
 */
async function shown(t: TestContext, methods: JsonRpcMethods, hash: string): Promise<Record<string, unknown> | null> {
  let found = null;
  while (found === null && !t.signal.aborted) {
    found = (await call(methods, 'eth_getTransactionByHash', hash)) as Record<string, unknown> | null;
    if (found === null) await new Promise((resolve) => setImmediate(resolve));
  }
  return found;
}

test('consecutive nonces sent at once in reverse order all run, in nonce order', async () => {
  const { chain, methods } = await setup(10_000);
  const signed = await Promise.all([0, 1, 2, 3, 4].map((nonce) => chain.sign(alice, { to: bob.address, value: 1n, nonce })));
  const answers = await Promise.all([...signed].reverse().map((raw) => send(methods, raw)));
  assert.deepEqual(answers.map((a) => a.error), [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(await call(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x5');
  const hashes = answers.map((a) => a.result).reverse();
  for (const [nonce, hash] of hashes.entries()) {
    const transaction = (await call(methods, 'eth_getTransactionByHash', hash)) as { nonce: string; blockNumber: string };
    assert.equal(BigInt(transaction.nonce), BigInt(nonce));
    const block = (await call(methods, 'eth_getBlockByNumber', transaction.blockNumber, false)) as { transactions: string[] };
    assert.deepEqual(block.transactions, [hash], 'one block per transaction, in nonce order');
  }
});

test('in one batch, a nonce listed before the one it follows runs once that one has, without waiting out the batch', async () => {
  const { chain, methods } = await setup(60_000);
  const [first, second] = await Promise.all([0, 1].map((nonce) => chain.sign(alice, { to: bob.address, value: 1n, nonce })));
  const batch = [second!, first!].map((raw, id) => ({ jsonrpc: '2.0', id, method: 'eth_sendRawTransaction', params: [ethers.hexlify(raw)] }));
  // Were the batch run strictly one after the other, nonce 1 would wait its full 60 s for nonce 0 behind it.
  const replies = JSON.parse((await handleJsonRpc(JSON.stringify(batch), methods))!) as { id: number; result?: string; error?: unknown }[];
  assert.deepEqual(replies.map((reply) => [reply.id, reply.error]), [[0, undefined], [1, undefined]]);
  assert.deepEqual(replies.map((reply) => reply.result), [ethers.keccak256(second!), ethers.keccak256(first!)]);
  assert.equal(await call(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x2');
});

test("in ethers.js's batches (each send beside an eth_blockNumber), a nonce listed before the one it follows runs once that one has; the reads after it wait for it", async () => {
  const { chain, methods } = await setup(10_000);
  const [first, second] = await Promise.all([0, 1].map((nonce) => chain.sign(alice, { to: bob.address, value: 1n, nonce })));
  const element = (id: number, method: string, params: unknown[]) => ({ jsonrpc: '2.0', id, method, params });
  const batch = [
    element(0, 'eth_blockNumber', []),
    element(1, 'eth_sendRawTransaction', [ethers.hexlify(second!)]),
    element(2, 'eth_getTransactionCount', [alice.address, 'latest']),
    element(3, 'eth_sendRawTransaction', [ethers.hexlify(first!)]),
  ];
  // Were the read after nonce 1 to hold up the batch until nonce 1 ran, nonce 1 would wait its 10 s for nonce 0 and be refused.
  const replies = JSON.parse((await handleJsonRpc(JSON.stringify(batch), methods))!) as { id: number; result?: string; error?: unknown }[];
  assert.deepEqual(replies.map((reply) => [reply.id, reply.error]), [[0, undefined], [1, undefined], [2, undefined], [3, undefined]]);
  assert.deepEqual([replies[1]?.result, replies[3]?.result], [ethers.keccak256(second!), ethers.keccak256(first!)]);
  assert.equal(replies[2]?.result, '0x2', 'the read after nonce 1 sees it, and nonce 0 with it');
});

test("a transaction waiting for the nonces before it is found by its hash, pending, as geth finds its pool's queued ones", { timeout: 20_000 }, async (t) => {
  const { chain, methods } = await setup(60_000);
  const later = await chain.sign(alice, { to: bob.address, value: 7n, nonce: 1, gasLimit: 21_000n, maxFeePerGas: 5n, maxPriorityFeePerGas: 2n });
  const hash = ethers.keccak256(later);
  const waiting = send(methods, later);
  assert.deepEqual(await shown(t, methods, hash), {
    blockHash: null,
    blockNumber: null,
    transactionIndex: null,
    hash,
    type: '0x2',
    from: alice.address.toLowerCase(),
    to: bob.address.toLowerCase(),
    nonce: '0x1',
    gas: '0x5208',
    gasPrice: '0x5',
    value: '0x7',
    input: '0x',
    chainId: ethers.toQuantity(CHAIN_ID),
    ...signatureFields(later),
    maxFeePerGas: '0x5',
    maxPriorityFeePerGas: '0x2',
    accessList: [],
    yParity: signatureFields(later).v,
  });
  assert.equal((await send(methods, await chain.sign(alice, { to: bob.address, value: 1n, nonce: 0 }))).error, undefined);
  assert.equal((await waiting).result, hash);
  assert.equal(((await call(methods, 'eth_getTransactionByHash', hash)) as { blockNumber: string }).blockNumber, '0x2', 'mined once it ran');
});

test('a gap nobody fills is refused once the wait is over, and others are not held up meanwhile', async () => {
  const { chain, methods } = await setup(300);
  const ahead = send(methods, await chain.sign(alice, { to: bob.address, value: 1n, nonce: 2 }));
  const other = await send(methods, await chain.sign(bob, { to: alice.address, value: 1n }));
  assert.equal(other.error, undefined, "bob's transaction runs while alice's waits");
  const refused = await ahead;
  assert.equal(refused.error?.code, -32000);
  assert.match(refused.error!.message, new RegExp(`^nonce too high: address ${alice.address.toLowerCase()}, tx: 2 state: 0; it waited \\d+ ms for the transactions before it: send nonce 0 first$`));
  assert.equal(await call(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x0', 'nothing of alice ran');
});

test('a transaction further ahead than a sender may queue is refused at once', async () => {
  const { chain, methods } = await setup(60_000);
  const nonce = FUTURE_NONCES_PER_SENDER_MAX + 1;
  const refused = await send(methods, await chain.sign(alice, { to: bob.address, value: 1n, nonce }));
  // The message of a transaction that waited says for how long; this one names no wait.
  assert.equal(refused.error?.message, `nonce too high: address ${alice.address.toLowerCase()}, tx: ${nonce} state: 0: send nonce 0 first`);
});

test("a transaction of the same sender and nonce as a waiting one replaces it if it offers 10% more in both fees, as geth's txpool; the one replaced answers so and never runs", { timeout: 20_000 }, async (t) => {
  const { chain, methods } = await setup(60_000);
  const nonce1 = (maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) => chain.sign(alice, { to: bob.address, value: 1n, nonce: 1, maxFeePerGas, maxPriorityFeePerGas });
  const first = await nonce1(100n, 10n);
  const original = send(methods, first);
  for (const [maxFee, tip] of [[200n, 10n], [109n, 20n]] as const) {
    const refused = await send(methods, await nonce1(maxFee, tip));
    assert.equal(refused.error?.code, -32000);
    assert.match(refused.error!.message, new RegExp(`^replacement transaction underpriced: ${ethers.keccak256(first)} waits with the same sender and nonce`));
  }
  assert.deepEqual(await send(methods, first), { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'already known' } });
  const replacement = await nonce1(110n, 11n);
  const replacing = send(methods, replacement);
  assert.equal((await shown(t, methods, ethers.keccak256(replacement)))?.hash, ethers.keccak256(replacement));
  assert.equal(await call(methods, 'eth_getTransactionByHash', ethers.keccak256(first)), null, 'the one replaced is no longer found');
  assert.deepEqual((await original).error, {
    code: -32000,
    message: `transaction replaced by ${ethers.keccak256(replacement)}, which has the same sender and nonce and offers more: this one will not run`,
  }, 'answered at once, before the gap is filled');
  assert.equal((await send(methods, await chain.sign(alice, { to: bob.address, value: 1n, nonce: 0 }))).error, undefined);
  assert.equal((await replacing).result, ethers.keccak256(replacement));
  assert.equal(await call(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x2');
  assert.equal(await call(methods, 'eth_getTransactionByHash', ethers.keccak256(first)), null);
});

test("geth's price bump: a replacement offers more than the waiting transaction and at least 10% more, in both fees (a gas price counts as both)", () => {
  const legacy = (gasPrice: bigint) => ({ gasPrice });
  const market = (maxFeePerGas: bigint, maxPriorityFeePerGas: bigint) => ({ maxFeePerGas, maxPriorityFeePerGas });
  const cases = [
    { waiting: legacy(100n), replacement: legacy(110n), replaces: true },
    { waiting: legacy(100n), replacement: legacy(109n), replaces: false },
    { waiting: legacy(0n), replacement: legacy(1n), replaces: true },
    { waiting: legacy(0n), replacement: legacy(0n), replaces: false },
    { waiting: legacy(5n), replacement: legacy(6n), replaces: true }, // 5.5 rounds down to 5
    { waiting: market(100n, 10n), replacement: market(110n, 11n), replaces: true },
    { waiting: market(100n, 10n), replacement: market(1000n, 10n), replaces: false },
    { waiting: market(100n, 10n), replacement: market(100n, 100n), replaces: false },
    { waiting: legacy(100n), replacement: market(110n, 110n), replaces: true },
    { waiting: market(100n, 100n), replacement: legacy(110n), replaces: true },
    { waiting: market(200n, 100n), replacement: legacy(110n), replaces: false },
  ];
  for (const { waiting, replacement, replaces } of cases) {
    const nonces = new FutureNonces();
    const held = nonces.hold({ sender: 'alice', nonce: 1n, hash: '0x01', fees: waiting, raw: NO_RAW }, 1n);
    assert.ok(held !== undefined);
    const what = `${JSON.stringify(replacement, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))} for ${JSON.stringify(waiting, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`;
    if (replaces) {
      assert.ok(nonces.hold({ sender: 'alice', nonce: 1n, hash: '0x02', fees: replacement, raw: NO_RAW }, 1n) !== undefined, what);
      assert.equal(held.replacedBy, '0x02', what);
    } else {
      assert.throws(() => nonces.hold({ sender: 'alice', nonce: 1n, hash: '0x02', fees: replacement, raw: NO_RAW }, 1n), { code: 'ReplacementUnderpriced' }, what);
      assert.equal(held.replacedBy, undefined, what);
    }
  }
});

test('a write wakes the transaction waiting at the next nonce, and no other; one written before the wait began is not missed', { timeout: 30_000 }, async () => {
  const nonces = new FutureNonces();
  const hold = (nonce: bigint) => nonces.hold({ sender: 'alice', nonce, hash: `0x0${nonce}`, fees: { gasPrice: 0n }, raw: NO_RAW }, nonce)!;
  const [second, third] = [hold(2n), hold(3n)];
  // Nonce 1 is written while nonce 2 is between its try and its wait.
  nonces.written('alice', 1n);
  assert.equal(await nonces.waitForNext(second, 60_000), true, 'nonce 2 tries again at once');
  assert.equal(await nonces.waitForNext(third, 50), false, 'nonce 3 cannot run before nonce 2: it is not woken');
  const woken = nonces.waitForNext(third, 60_000);
  nonces.written('alice', 2n);
  assert.equal(await woken, true);
});
