// Read-only execution for eth_call and eth_estimateGas: the call runs as an unsigned transaction
// from any address (no nonce check) in the block it names (the next one by default), over a KV
// transaction whose reads it only makes; nothing is ever written to it. Gas estimation searches the
// lowest gas limit under which the call succeeds, starting from what it used when given all the gas allowed.

import { createTx, getMinimumGasLimit, type AccessList, type AccessListBytes } from '@ethereumjs/tx';
import { Address, toChecksumAddress } from '@ethereumjs/util';
import { runTx, type RunTxResult } from '@ethereumjs/vm';
import { fromHex } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import type { ExecutionBlock } from './blocks.js';
import { ADDRESS_BYTES } from './ethereum-maps.js';
import { checkFunds } from './execute.js';
import type { TimeAllowance } from './execution-budget.js';
import { evmRefusal, type ExecutionContext } from './execution-context.js';
import type { KvStateManager } from './kv-state-manager.js';
import { ACCESS_LIST_RUNS_MAX, ESTIMATE_GAS_RUNS_MAX } from './limits.js';
import { precompileFailure } from './precompile-failures.js';
import { ExecutionReverted } from './revert.js';
import { TIP_ABOVE_FEE_CAP, checkInitCodeSize } from './sender.js';

/** Gas a value-carrying CALL hands the callee on top of what it passes. */
const CALL_STIPEND = 2300n;

export interface CallParams {
  /** The caller; the zero address when absent. */
  from?: Uint8Array;
  /** The callee; absent for a contract creation. */
  to?: Uint8Array;
  /** Gas limit; the most a transaction may have (see ExecutionContext.txGasLimitMax) when absent. */
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value?: bigint;
  data?: Uint8Array;
  accessList?: AccessListBytes;
  /** State as the call should see it instead (eth_call's third parameter); never written. */
  overrides?: readonly AccountOverride[];
  /** The block the call runs in (its number, timestamp, BLOCKHASH below it); the one that would come next when absent. */
  block?: ExecutionBlock;
}

/** One account as a call should see it (geth's state override). */
export interface AccountOverride {
  address: Uint8Array;
  balance?: bigint;
  nonce?: bigint;
  code?: Uint8Array;
  /** The account's whole storage: these slots, every other one zero. */
  state?: ReadonlyArray<readonly [slot: Uint8Array, value: Uint8Array]>;
  /** These slots changed, the others as stored. */
  stateDiff?: ReadonlyArray<readonly [slot: Uint8Array, value: Uint8Array]>;
}

/** Applies `overrides` to the state the run sees (its overlay, never flushed by a call). */
async function applyOverrides(state: KvStateManager, overrides: readonly AccountOverride[]): Promise<void> {
  for (const override of overrides) {
    const address = new Address(override.address);
    if (override.code !== undefined) await state.putCode(address, override.code);
    if (override.balance !== undefined || override.nonce !== undefined) await state.modifyAccountFields(address, { balance: override.balance, nonce: override.nonce });
    if (override.state !== undefined) await state.clearStorage(address);
    for (const [slot, value] of override.state ?? override.stateDiff ?? []) await state.putStorage(address, slot, value);
  }
}

export interface CallResult {
  status: 0 | 1;
  /** The gas limit the call ran with. */
  gasLimit: bigint;
  /** What the call returned; its revert data when it reverted. */
  returnValue: Uint8Array;
  /** Gas charged, after refunds. */
  gasUsed: bigint;
  /** Gas spent before refunds: no lower gas limit can succeed. */
  gasNeeded: bigint;
  /** The EVM's reason when status is 0 ('revert', 'out of gas', ...), in geth's words. */
  error: string | undefined;
  /** The addresses and storage keys the call touched, when asked for (see createAccessList). */
  accessList?: AccessList;
}

/** geth's words (core/vm/errors.go) for the EVM failures EthereumJS names otherwise (and may follow with where): clients match on them. */
const GETH_REASONS: ReadonlyArray<readonly [ethereumJs: string, geth: string]> = [
  ['code size to deposit exceeds maximum code size', 'max code size exceeded'],
  ['initcode exceeds max initcode size', 'max initcode size exceeded'],
  ['code store out of gas', 'contract creation code storage out of gas'],
  ['invalid bytecode deployed', 'invalid code: must not begin with 0xef'],
  ['invalid JUMP', 'invalid jump destination'],
];

/** The designated invalid instruction (EIP-141), the only invalid byte geth names. */
const INVALID_OPCODE = 0xfe;

/**
 * geth's ErrInvalidOpCode (core/vm/errors.go: "invalid opcode: %s" with the opcode's name), for the
 * byte `opcode` the call stopped at: `INVALID` for 0xfe, and for a byte no opcode of the chain's
 * fork uses, geth's `opcode 0xef not defined`.
 */
function invalidOpcode(opcode: number | undefined): string {
  if (opcode === undefined) return 'invalid opcode';
  return `invalid opcode: ${opcode === INVALID_OPCODE ? 'INVALID' : `opcode 0x${opcode.toString(16)} not defined`}`;
}

/**
 * The EVM's reason for the failure of a call to `to` with `data` (`gas` left after intrinsic gas), in
 * geth's words; `opcode` is the byte the outermost frame stopped at.
 */
function gethReason(error: string, to: Uint8Array | undefined, data: Uint8Array, gas: bigint, opcode: number | undefined): string {
  const precompile = to === undefined ? undefined : precompileFailure(to, data, error, gas);
  if (precompile !== undefined) return precompile;
  if (error === 'invalid opcode') return invalidOpcode(opcode);
  return GETH_REASONS.find(([ethereumJs]) => error.startsWith(ethereumJs))?.[1] ?? error;
}

/** A call whose gas limit (given, or what the caller's balance pays for) is below its intrinsic gas. */
class IntrinsicGasTooLow extends CocoError {
  constructor(readonly gasLimit: bigint, minimum: bigint) {
    super('IntrinsicGasTooLow', `intrinsic gas too low: have ${gasLimit}, want ${minimum}`);
  }
}

/** Runs the call; refusals that Ethereum makes before execution (funds, intrinsic gas) throw a CocoError. */
export async function call(kvTx: Transaction, params: CallParams, context: ExecutionContext, allowance?: TimeAllowance, options: { reportAccessList?: boolean } = {}): Promise<CallResult> {
  if (params.from !== undefined && params.from.length !== ADDRESS_BYTES) throw new CocoError('InvalidArgument', "a call's 'from' must be a 20-byte address");
  if (params.to !== undefined && params.to.length !== ADDRESS_BYTES) throw new CocoError('InvalidArgument', "a call's 'to' must be a 20-byte address");
  const from = new Address(params.from ?? new Uint8Array(ADDRESS_BYTES));
  return context.run(kvTx, async ({ vm, state, block }) => {
    await applyOverrides(state, params.overrides ?? []);
    const account = await state.getAccount(from);
    const balance = account?.balance ?? 0n;
    const value = params.value ?? 0n;
    const fee = params.gasPrice ?? params.maxFeePerGas ?? 0n;
    // As geth (TransactionArgs.ToMessage): a legacy price is both cap and tip; an absent tip is 0, so a
    // call with only a fee cap runs at GASPRICE min(tip + base fee, cap), not at the cap.
    const tip = params.gasPrice ?? params.maxPriorityFeePerGas ?? 0n;
    if (tip > fee) {
      throw new CocoError('InvalidTransaction', `${TIP_ABOVE_FEE_CAP}: address ${toChecksumAddress(from.toString())}, maxPriorityFeePerGas: ${tip}, maxFeePerGas: ${fee}`);
    }
    let gasLimit = params.gas ?? context.txGasLimitMax;
    if (gasLimit > context.txGasLimitMax) gasLimit = context.txGasLimitMax;
    // As geth does: without a gas limit, a priced call gets what the caller's balance pays for.
    if (params.gas === undefined && fee > 0n && balance > value && (balance - value) / fee < gasLimit) gasLimit = (balance - value) / fee;
    if (params.to === undefined && params.data !== undefined) checkInitCodeSize(params.data, context.common);
    let tx;
    try {
      tx = createTx(
        {
          type: 2,
          nonce: account?.nonce ?? 0n,
          gasLimit,
          to: params.to,
          value,
          data: params.data,
          maxFeePerGas: fee,
          maxPriorityFeePerGas: tip,
          accessList: params.accessList ?? [],
        },
        { common: context.common, freeze: false },
      );
    } catch (error) {
      // The parameters parsed; what the chain's rules refuse is -32000 as in geth, not -32602.
      throw new CocoError('InvalidTransaction', `invalid call: ${error instanceof Error ? error.message.split(' (tx type=')[0] : String(error)}`);
    }
    // The call is unsigned: it runs as if `from` had signed it.
    Object.defineProperty(tx, 'getSenderAddress', { value: () => from });
    const minimum = getMinimumGasLimit(tx, from);
    if (gasLimit < minimum) throw new IntrinsicGasTooLow(gasLimit, minimum);
    checkFunds(from, balance, gasLimit * fee + value);
    // A transaction from an address with code is refused (EIP-3607), but a call from one runs, as in geth.
    if (account?.isContract() === true) state.presentWithoutCode(from.bytes);
    let result: RunTxResult;
    try {
      result = await runTx(vm, { tx, block, skipNonce: true, skipHardForkValidation: true, reportAccessList: options.reportAccessList === true });
    } catch (error) {
      throw evmRefusal(error, 'InvalidArgument', 'call');
    }
    const { exceptionError, returnValue, executionGasUsed, runState } = result.execResult;
    // Refunds come after execution, and EIP-7623's calldata floor may exceed what execution used.
    const spent = executionGasUsed + tx.getIntrinsicGas();
    const gasNeeded = [spent, minimum, result.totalGasSpent].reduce((a, b) => (a > b ? a : b));
    return {
      status: exceptionError === undefined ? 1 : 0,
      gasLimit,
      returnValue,
      gasUsed: result.totalGasSpent,
      gasNeeded,
      error:
        exceptionError === undefined
          ? undefined
          : gethReason(exceptionError.error, params.to, params.data ?? new Uint8Array(0), gasLimit - tx.getIntrinsicGas(), runState?.code[runState.programCounter]),
      ...(result.accessList !== undefined && { accessList: result.accessList }),
    };
  }, allowance, params.block);
}

/**
 * The lowest gas limit (within 1.5%) under which the call succeeds; when its runs used up their time
 * before the search ended, the lowest found to succeed. Throws ExecutionReverted when it reverts
 * even with all the gas allowed, CocoError GasRequiredExceedsAllowance when it runs out of gas then
 * and ExecutionFailed (the EVM's reason) when it fails otherwise, and
 * ExecutionTimeLimit when that first run does not end in time. Its runs share `allowance` (one limit by default).
 */
export async function estimateGas(kvTx: Transaction, params: CallParams, context: ExecutionContext, allowance = context.timeAllowance()): Promise<bigint> {
  // Its runs follow each other without a turn of the event loop: they share one time limit.
  let full: CallResult;
  try {
    full = await call(kvTx, params, context, allowance);
  } catch (error) {
    // As geth: a cap below the intrinsic gas (the call's gas, or what the balance pays for) is an allowance too small.
    if (!(error instanceof IntrinsicGasTooLow)) throw error;
    throw new CocoError('GasRequiredExceedsAllowance', `gas required exceeds allowance (${error.gasLimit})`, { cause: error });
  }
  if (full.status === 0) {
    if (full.error === 'revert') throw new ExecutionReverted(full.returnValue);
    // As geth's estimator: out of gas with all the gas allowed is an allowance too small; any other
    // failure is told as it is.
    if (full.error === 'out of gas') throw new CocoError('GasRequiredExceedsAllowance', `gas required exceeds allowance (${full.gasLimit})`);
    throw new CocoError('ExecutionFailed', full.error ?? 'execution failed');
  }
  const succeeds = async (gas: bigint): Promise<boolean> => (await call(kvTx, { ...params, gas }, context, allowance)).status === 1;
  // The lowest gas known to succeed: the search only lowers it.
  let high = full.gasLimit;
  try {
    // Refunds and the 63/64 rule make the gas used a lower bound, often sufficient already.
    if (await succeeds(full.gasNeeded)) return full.gasNeeded;
    let low = full.gasNeeded;
    // As geth: what the 63/64 rule withholds from a call, and its stipend, usually cover the rest.
    const optimistic = ((full.gasNeeded + CALL_STIPEND) * 64n) / 63n;
    if (optimistic < high) {
      if (await succeeds(optimistic)) high = optimistic;
      else low = optimistic;
    }
    for (let runs = 3; runs < ESTIMATE_GAS_RUNS_MAX && (high - low) * 1000n > high * 15n; runs++) {
      // Bisect, but no further up than twice the highest failure: the answer is usually close to it.
      const middle = (low + high) / 2n < low * 2n ? (low + high) / 2n : low * 2n;
      if (await succeeds(middle)) high = middle;
      else low = middle;
    }
  } catch (error) {
    // The runs share one time limit, so a call that takes most of it alone (and runs when sent,
    // with a limit of its own) would fail its estimate: past the limit, the answer is the lowest
    // gas found to succeed, higher than needed but sufficient.
    if (!(error instanceof CocoError && error.code === 'ExecutionTimeLimit')) throw error;
  }
  return high;
}

/**
 * eth_createAccessList, as geth answers it: the addresses and storage keys the call touches (the
 * sender, the callee and the precompiles are warm already: EthereumJS lists them only for storage
 * keys), found again with that list until it no longer changes, since the list changes what the
 * call costs; and the gas the call uses with it. Its runs share `allowance`.
 */
export async function createAccessList(kvTx: Transaction, params: CallParams, context: ExecutionContext, allowance = context.timeAllowance()): Promise<CallResult & { accessList: AccessList }> {
  let accessList: AccessList = [];
  for (let runs = 1; ; runs++) {
    const bytes: AccessListBytes = accessList.map((item) => [fromHex(item.address.slice(2)), item.storageKeys.map((key) => fromHex(key.slice(2)))]);
    const result = await call(kvTx, { ...params, accessList: bytes }, context, allowance, { reportAccessList: true });
    const found = sortedAccessList(result.accessList ?? []);
    if (JSON.stringify(found) === JSON.stringify(accessList) || runs >= ACCESS_LIST_RUNS_MAX) return { ...result, accessList: found };
    accessList = found;
  }
}

/** Addresses in order, each with its keys in order: two runs that touch the same compare equal. */
function sortedAccessList(list: AccessList): AccessList {
  const lower = (hex: `0x${string}`) => hex.toLowerCase() as `0x${string}`;
  return list
    .map((item) => ({ address: lower(item.address), storageKeys: item.storageKeys.map(lower).sort() }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}
