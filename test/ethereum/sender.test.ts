import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../../src/errors.js';
import { createChainCommon } from '../../src/ethereum/chain-rules.js';
import { RAW_TRANSACTION_BYTES_MAX } from '../../src/ethereum/limits.js';
import { decodeRawTransaction, summarizeTransaction } from '../../src/ethereum/sender.js';
import { effectiveGasPrice } from '../../src/ethereum/rpc-objects.js';
import { CHAIN_ID, bytes, wallet } from './harness.js';

const common = createChainCommon(CHAIN_ID);
const alice = wallet(0);
const base = { chainId: CHAIN_ID, nonce: 3, to: wallet(1).address, value: 9n, gasLimit: 21_000n };

function refusal(code: string, message: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof CocoError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  };
}

test('legacy, EIP-2930 and EIP-1559 transactions decode with their sender and hash', async () => {
  const requests: ethers.TransactionRequest[] = [
    { ...base, type: 0, gasPrice: 5n },
    { ...base, type: 1, gasPrice: 5n, accessList: [{ address: wallet(2).address, storageKeys: [ethers.ZeroHash] }] },
    { ...base, type: 2, maxFeePerGas: 7n, maxPriorityFeePerGas: 2n },
  ];
  for (const request of requests) {
    const signed = await alice.signTransaction(request);
    const decoded = decodeRawTransaction(bytes(signed), common);
    assert.equal(decoded.sender.toString(), alice.address.toLowerCase());
    assert.equal(bytesToHex(decoded.hash), ethers.keccak256(signed));
    assert.equal(decoded.tx.type, request.type);
    assert.equal(decoded.tx.nonce, 3n);
    assert.equal(decoded.tx.value, 9n);
    assert.ok(Object.isFrozen(decoded.tx), 'frozen, so the recovered key stays cached');
  }
});

test("a gas limit over EIP-7825's cap of 2^24 is refused in geth's words, for every type", async () => {
  for (const type of [0, 1, 2]) {
    const fees = type === 2 ? { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n } : { gasPrice: 0n };
    const atCap = await alice.signTransaction({ ...base, ...fees, type, gasLimit: 2n ** 24n });
    assert.equal(decodeRawTransaction(bytes(atCap), common).tx.gasLimit, 2n ** 24n);
    const over = await alice.signTransaction({ ...base, ...fees, type, gasLimit: 40_000_000n });
    assert.throws(() => decodeRawTransaction(bytes(over), common), refusal('GasLimitExceeded', /^transaction gas limit too high \(cap: 16777216, tx: 40000000\)$/));
  }
});

test("a contract creation whose initcode passes EIP-3860's 49,152 bytes is refused in geth's words, for every type", async () => {
  for (const type of [0, 1, 2]) {
    const fees = type === 2 ? { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n } : { gasPrice: 0n };
    const create = { ...base, ...fees, type, to: null, gasLimit: 10_000_000n };
    const atLimit = await alice.signTransaction({ ...create, data: ethers.hexlify(new Uint8Array(49_152)) });
    assert.equal(decodeRawTransaction(bytes(atLimit), common).tx.data.length, 49_152);
    const over = await alice.signTransaction({ ...create, data: ethers.hexlify(new Uint8Array(49_153)) });
    assert.throws(() => decodeRawTransaction(bytes(over), common), refusal('InvalidTransaction', /^max initcode size exceeded: code size 49153, limit 49152$/));
    // A call's data is not initcode: no limit but the transaction's size.
    assert.equal(decodeRawTransaction(bytes(await alice.signTransaction({ ...create, to: base.to, data: ethers.hexlify(new Uint8Array(49_153)) })), common).tx.data.length, 49_153);
  }
});

test('a transaction signed for another chain is refused with both chain ids', async () => {
  for (const type of [0, 1, 2]) {
    const signed = await alice.signTransaction({ ...base, type, chainId: 1n, gasPrice: type === 2 ? undefined : 0n, maxFeePerGas: type === 2 ? 0n : undefined });
    assert.throws(() => decodeRawTransaction(bytes(signed), common), refusal('WrongChainId', new RegExp(`^invalid chain id for signer: have 1 want ${CHAIN_ID}$`)));
  }
});

test('malformed, unsupported, oversized and unprotected transactions are refused', async () => {
  const cases: [string, Uint8Array, string, RegExp][] = [
    ['empty', new Uint8Array(0), 'InvalidTransaction', /^empty transaction/],
    ['bad RLP', bytes('0xf8ff00'), 'InvalidTransaction', /^rlp: /],
    ['trailing bytes', bytes('0xc10000'), 'InvalidTransaction', /^rlp: /],
    ['not a list', bytes('0x02820539'), 'InvalidTransaction', /^rlp: a transaction must be a list$/],
    ['legacy with 3 fields', bytes('0xc3010203'), 'InvalidTransaction', /has 9 fields, got 3/],
    ['blob', bytes('0x03c0'), 'InvalidTransaction', /^blob \(EIP-4844\) transactions are not supported/],
    ['set-code', bytes('0x04c0'), 'InvalidTransaction', /^set-code \(EIP-7702\)/],
    ['unknown type', bytes('0x7fc0'), 'InvalidTransaction', /^transaction type 0x7f not supported$/],
    ['oversized', new Uint8Array(RAW_TRANSACTION_BYTES_MAX + 1).fill(0xc0), 'InvalidTransaction', /^oversized data/],
  ];
  for (const [what, raw, code, message] of cases) {
    assert.throws(() => decodeRawTransaction(raw, common), refusal(code, message), what);
  }
  const unsigned = ethers.Transaction.from({ ...base, type: 2, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
  assert.throws(() => decodeRawTransaction(bytes(unsigned.unsignedSerialized), common), refusal('InvalidTransaction', /not signed/));
  const legacy = ethers.Transaction.from({ ...base, chainId: undefined, type: 0, gasPrice: 0n });
  legacy.signature = alice.signingKey.sign(legacy.unsignedHash);
  assert.throws(() => decodeRawTransaction(bytes(legacy.serialized), common), refusal('UnprotectedTransaction', /replay-protected \(EIP-155\)/));
});

test("an access list of the wrong shape is refused in geth's words, for both typed transactions", async () => {
  for (const [type, at] of [[1, 7], [2, 8]] as const) {
    const signed = ethers.Transaction.from({ ...base, type, gasPrice: type === 1 ? 0n : undefined, maxFeePerGas: type === 2 ? 0n : undefined, maxPriorityFeePerGas: type === 2 ? 0n : undefined });
    signed.signature = alice.signingKey.sign(signed.unsignedHash);
    const fields = ethers.decodeRlp(ethers.dataSlice(signed.serialized, 1)) as unknown[];
    const withAccessList = (accessList: unknown) => {
      const changed = [...fields];
      changed[at] = accessList;
      return bytes(ethers.concat([ethers.toBeHex(type), ethers.encodeRlp(changed as never)]));
    };
    const address = wallet(2).address;
    const cases: [string, unknown, RegExp][] = [
      ['a byte string', '0x1234', /^rlp: expected input list for types\.AccessList$/],
      ['a list of byte strings', ['0x12'], /^rlp: expected input list for types\.AccessTuple, decoding into \(types\.AccessList\)\[0\]$/],
      ['a tuple of one', [[address]], /^rlp: too few elements for types\.AccessTuple/],
      ['a short address', [['0x1234', []]], /^rlp: input string too short for common\.Address, decoding into \(types\.AccessList\)\[0\]\.Address$/],
      ['keys as a byte string', [[address, '0x12']], /^rlp: expected input list for \[\]common\.Hash/],
      ['a short key', [[address, ['0x01']]], /^rlp: input string too short for common\.Hash, decoding into \(types\.AccessList\)\[0\]\.StorageKeys\[0\]$/],
    ];
    for (const [what, accessList, message] of cases) {
      assert.throws(() => decodeRawTransaction(withAccessList(accessList), common), refusal('InvalidTransaction', message), `type ${type}: ${what}`);
    }
  }
});

test('a signature that recovers no key, or a high s value, is refused', async () => {
  const signed = ethers.Transaction.from(await alice.signTransaction({ ...base, type: 2, maxFeePerGas: 0n }));
  const outOfRange = signed.clone();
  outOfRange.signature = ethers.Signature.from({ r: `0x${'ff'.repeat(32)}`, s: signed.signature!.s, yParity: signed.signature!.yParity });
  assert.throws(() => decodeRawTransaction(bytes(outOfRange.serialized), common), refusal('InvalidSignature', /^invalid sender/));
  // The same signature with s replaced by n - s (EIP-2 forbids this second, malleable form).
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const fields = ethers.decodeRlp(`0x${signed.serialized.slice(4)}`) as string[];
  fields[11] = ethers.toBeHex(n - BigInt(fields[11]!));
  const malleable = ethers.concat(['0x02', ethers.encodeRlp(fields)]);
  assert.throws(() => decodeRawTransaction(bytes(malleable), common), refusal('InvalidSignature', /^invalid transaction v, r, s values: .*s-values greater/));
});

test('the chain id must be a positive integer a wallet can sign for', () => {
  for (const chainId of [0n, -1n, 2n ** 53n]) {
    assert.throws(() => createChainCommon(chainId), refusal('InvalidArgument', /chain_id must be an integer from 1/));
  }
});

test('a stored transaction\'s summary (type, recipient, fees) read from its RLP fields matches the full decoding', async () => {
  const requests: ethers.TransactionRequest[] = [
    { ...base, type: 0, gasPrice: 7n },
    { ...base, type: 1, gasPrice: 11n, accessList: [{ address: wallet(2).address, storageKeys: [ethers.ZeroHash] }] },
    { ...base, type: 2, maxFeePerGas: 20n, maxPriorityFeePerGas: 3n },
    { ...base, type: 2, maxFeePerGas: 2n, maxPriorityFeePerGas: 2n },
    { ...base, type: 2, to: null, data: '0x6000', gasLimit: 60_000n, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
  ];
  for (const request of requests) {
    const raw = bytes(await alice.signTransaction(request));
    const { tx } = decodeRawTransaction(raw, common);
    const summary = summarizeTransaction(raw);
    assert.equal(summary.type, tx.type);
    assert.equal(summary.to === undefined ? undefined : bytesToHex(summary.to), tx.to?.toString());
    assert.equal(effectiveGasPrice(summary), effectiveGasPrice(tx));
  }
  assert.throws(() => summarizeTransaction(new Uint8Array([0x04, 0xc0])), (error: unknown) => error instanceof CocoError && error.code === 'InvalidTransaction');
});
