// The Ethereum rules Coco executes: every transaction under one hard fork (Osaka, the latest that
// EthereumJS 10.1 ships as final and the default target of solc 0.8.37), all earlier forks active
// from block 0, and a configurable chain id. Senders are recovered with native libsecp256k1 (about
// 25 times faster than EthereumJS's pure-JavaScript default), and keccak-256 is Coco's WebAssembly
// one wherever EthereumJS accepts another (the SHA3 opcode, log blooms, transaction hashes).

import { createRequire } from 'node:module';
import { Common, Hardfork, Mainnet, type HardforkTransitionConfig, type ParamsDict } from '@ethereumjs/common';
import { paramsTx } from '@ethereumjs/tx';
import { keccak256 } from '../crypto/keccak.js';
import { CocoError } from '../errors.js';

/** Osaka includes Shanghai (PUSH0), Cancun (transient storage, MCOPY) and Prague; BPO1/BPO2 only change blob parameters, and Coco takes no blob transactions. */
export const HARDFORK = Hardfork.Osaka;

/** Largest chain id: EIP-155 signatures carry `chainId * 2 + 35` as `v`, and wallets keep it within 2^53 (EIP-2294 bounds it lower still). */
export const CHAIN_ID_MAX = 2n ** 53n - 1n;

const require = createRequire(import.meta.url);
// The native binding itself: the package's main entry falls back to pure JavaScript without a word.
const secp256k1 = require('secp256k1/bindings') as typeof import('secp256k1');

/** EthereumJS's `ecrecover` contract over libsecp256k1: the 64-byte public key (no 0x04 prefix). */
function nativeEcrecover(msgHash: Uint8Array, v: bigint, r: Uint8Array, s: Uint8Array, chainId?: bigint): Uint8Array {
  const recovery = v === 0n || v === 1n ? v : chainId === undefined ? v - 27n : v - (chainId * 2n + 35n);
  if ((recovery !== 0n && recovery !== 1n) || r.length > 32 || s.length > 32) {
    throw new CocoError('InvalidSignature', 'invalid transaction v, r, s values');
  }
  const signature = new Uint8Array(64);
  signature.set(r, 32 - r.length);
  signature.set(s, 64 - s.length);
  return secp256k1.ecdsaRecover(signature, Number(recovery), msgHash, false).subarray(1);
}

/** Every hard fork up to HARDFORK, active from block 0 (so no block number triggers a transition rule). */
function forksFromGenesis(): HardforkTransitionConfig[] {
  const forks: HardforkTransitionConfig[] = [];
  for (const fork of Mainnet.hardforks) {
    forks.push({ name: fork.name, block: 0 });
    if (fork.name === HARDFORK) return forks;
  }
  throw new CocoError('InternalError', `EthereumJS does not list hard fork '${HARDFORK}'`);
}

/** The EthereumJS chain definition for `chainId`, shared by decoding and execution. */
export function createChainCommon(chainId: bigint): Common {
  if (typeof chainId !== 'bigint' || chainId < 1n || chainId > CHAIN_ID_MAX) {
    throw new CocoError('InvalidArgument', `ethereum.chain_id must be an integer from 1 to ${CHAIN_ID_MAX}, got ${String(chainId)}`);
  }
  const common = new Common({
    chain: { ...Mainnet, name: 'coco', chainId: Number(chainId), hardforks: forksFromGenesis() },
    hardfork: HARDFORK,
    params: paramsTx,
    customCrypto: { ecrecover: nativeEcrecover, keccak256 },
  });
  // Every EthereumJS transaction copies the Common it is given and merges parameters into the
  // copy, rebuilding its parameter cache (~30 µs a transaction) even when they add nothing. This
  // Common holds the transaction parameters from the start: merging them, or none, is skipped.
  // Copies (the transactions', the VM's) keep this own property; other parameters merge as usual.
  common.updateParams = function (this: Common, params: ParamsDict): void {
    if (params !== paramsTx && Object.keys(params).length > 0) Common.prototype.updateParams.call(this, params);
  };
  return common;
}

/** EIP numbers whose answers are kept; larger ones are asked each time. */
const EIP_ANSWERS_MAX = 16_384;
const NOT_ASKED = 0;
const INACTIVE = 1;
const ACTIVE = 2;

/**
 * Keeps `common`'s answers to isActivatedEIP. EthereumJS's interpreter asks ~1,000 times per ERC-20
 * transfer, and Common answers each by scanning its list of active EIPs (~30 ns, ~3 % of the
 * transfer); a kept answer is a byte read. Answers are forgotten whenever the rules can change: a new
 * hard fork, or EIPs set.
 */
export function keepEipAnswers(common: Common): void {
  const ask = common.isActivatedEIP.bind(common);
  const setEIPs = common.setEIPs.bind(common);
  let answers = new Uint8Array(EIP_ANSWERS_MAX);
  const forget = (): void => {
    answers = new Uint8Array(EIP_ANSWERS_MAX);
  };
  common.events.on('hardforkChanged', forget);
  common.setEIPs = (eips?: number[]): void => {
    setEIPs(eips);
    forget();
  };
  common.isActivatedEIP = (eip: number): boolean => {
    const known = answers[eip];
    if (known === undefined) return ask(eip);
    if (known !== NOT_ASKED) return known === ACTIVE;
    const active = ask(eip);
    answers[eip] = active ? ACTIVE : INACTIVE;
    return active;
  };
}
