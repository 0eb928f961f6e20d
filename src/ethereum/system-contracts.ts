// Prague's and Cancun's system contracts, as every Coco state shows them whatever it stores (so a
// service created before Coco showed them has them too). EIP-2935's block hash history is served as
// on Ethereum: its code as deployed there, and its storage worked out from Coco's blocks, whose
// hashes Coco keeps anyway, instead of written by a system call at the start of each block (a write
// per transaction, since each transaction is a block). EIP-4788's beacon block roots cannot be
// served: Coco has no beacon chain. Its address holds code that reverts saying so, where a call
// would otherwise succeed with no data and a contract would read zero as a root.

import { bigIntToBytes, bytesToBigInt, concatBytes, equalsBytes, hexToBytes, setLengthLeft, unpadBytes, utf8ToBytes } from '@ethereumjs/util';
import { keccak256 } from '../crypto/keccak.js';
import { invariant } from '../errors.js';
import { HASH_BYTES, type AccountRecord } from './ethereum-maps.js';

/** EIP-2935's contract, at 0x0000F90827F1C53a10cb7A02335B175320002935 on every chain. */
export const HISTORY_STORAGE_ADDRESS = hexToBytes('0x0000f90827f1c53a10cb7a02335b175320002935');

/** How many of the latest block hashes the history contract serves (EIP-2935's HISTORY_SERVE_WINDOW). */
export const HISTORY_SERVE_WINDOW = 8191n;

/** EIP-4788's contract, at 0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02 on every chain. */
export const BEACON_ROOTS_ADDRESS = hexToBytes('0x000f3df6d732807ef1319fb7b8bb8522d0beac02');

export const BEACON_ROOTS_UNAVAILABLE = 'EIP-4788 beacon block roots are not available on Coco: it has no beacon chain';

/**
 * EIP-2935's runtime code, as its deployment transaction leaves it on every chain. A call from the
 * system address stores its input at slot (NUMBER - 1) % 8191; any other call with a 32-byte block
 * number n answers slot n % 8191 if NUMBER - 8191 <= n < NUMBER, and reverts otherwise.
 */
const HISTORY_STORAGE_CODE = hexToBytes(
  '0x3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500',
);

/** Code that reverts every call with Solidity's Error(`reason`): it copies the encoded error from behind itself and reverts with it. */
function revertingCode(reason: string): Uint8Array {
  const text = utf8ToBytes(reason);
  const padded = new Uint8Array(Math.ceil(text.length / 32) * 32);
  padded.set(text);
  // Error(string): selector, offset 32, length, the text padded to whole words.
  const error = concatBytes(hexToBytes('0x08c379a0'), setLengthLeft(bigIntToBytes(32n), 32), setLengthLeft(bigIntToBytes(BigInt(text.length)), 32), padded);
  invariant(error.length < 0x10000, 'a revert reason fits a PUSH2 length');
  const length = setLengthLeft(bigIntToBytes(BigInt(error.length)), 2);
  // PUSH2 length, PUSH1 12 (where the error starts), PUSH0, CODECOPY, PUSH2 length, PUSH0, REVERT.
  const prologue = concatBytes(Uint8Array.of(0x61), length, Uint8Array.of(0x60, 12, 0x5f, 0x39, 0x61), length, Uint8Array.of(0x5f, 0xfd));
  invariant(prologue.length === 12, 'the error starts right after the 12-byte prologue');
  return concatBytes(prologue, error);
}

interface SystemContract {
  address: Uint8Array;
  code: Uint8Array;
  codeHash: Uint8Array;
}

function systemContract(address: Uint8Array, code: Uint8Array): SystemContract {
  return { address, code, codeHash: keccak256(code) };
}

const SYSTEM_CONTRACTS: readonly SystemContract[] = [
  systemContract(HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CODE),
  systemContract(BEACON_ROOTS_ADDRESS, revertingCode(BEACON_ROOTS_UNAVAILABLE)),
];

/**
 * The account at `address` as every state shows it: a system contract has its code and a nonce of at
 * least 1 (as its deployment left it), with the balance stored or set by governance (ether sent to it stays).
 */
export function withSystemContract(address: Uint8Array, account: AccountRecord | undefined): AccountRecord | undefined {
  const contract = SYSTEM_CONTRACTS.find((c) => equalsBytes(c.address, address));
  if (contract === undefined) return account;
  const nonce = account === undefined || account.nonce < 1n ? 1n : account.nonce;
  return { nonce, balance: account?.balance ?? 0n, codeHash: contract.codeHash };
}

/** The code of a system contract with hash `codeHash` (never stored in the KV); undefined for any other. */
export function systemCode(codeHash: Uint8Array): Uint8Array | undefined {
  return SYSTEM_CONTRACTS.find((c) => equalsBytes(c.codeHash, codeHash))?.code;
}

/**
 * Slot `slot` of a system contract in the block `blockNumber` gives (asked only for such a contract),
 * never stored in the KV; undefined for any other address. `hashOf` gives the hashes of the blocks
 * below that one.
 */
export function systemStorage(address: Uint8Array, slot: Uint8Array, blockNumber: () => bigint, hashOf: (n: bigint) => Uint8Array | undefined): Uint8Array | undefined {
  return equalsBytes(address, HISTORY_STORAGE_ADDRESS) ? historySlot(slot, blockNumber(), hashOf) : undefined;
}

/**
 * Slot `slot` of the history contract in block `number`, once the system call at its start has run:
 * the hash of the latest block n below `number` with n % 8191 = slot (big-endian, no leading zeros),
 * empty when there is none.
 */
function historySlot(slot: Uint8Array, number: bigint, hashOf: (n: bigint) => Uint8Array | undefined): Uint8Array {
  const index = bytesToBigInt(slot);
  const last = number - 1n;
  if (index >= HISTORY_SERVE_WINDOW || index > last) return new Uint8Array(0);
  const n = last - ((last - index) % HISTORY_SERVE_WINDOW);
  const hash = hashOf(n);
  invariant(hash !== undefined && hash.length === HASH_BYTES, `block ${n} below block ${number} exists`);
  return unpadBytes(hash);
}
