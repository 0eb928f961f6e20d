// Executing one signed Ethereum transaction inside one Coco transaction: the checks Ethereum makes
// before inclusion (answered with Ethereum's usual messages), the EVM run, then the state changes,
// the transaction, its receipt and its block written to the given KV transaction only. A reverted
// or failed run still spends the nonce and the fee and keeps its receipt (status 0), as on Ethereum.
// A transaction whose nonce is ahead of the account's is refused, not queued: Coco has no mempool.
// Governance decides who may send: frozen senders and senders outside a set allowlist are refused.

import { getMinimumGasLimit } from '@ethereumjs/tx';
import { bigIntToUnpaddedBytes, generateAddress, type Account, type Address } from '@ethereumjs/util';
import { runTx, type RunTxResult } from '@ethereumjs/vm';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { encodeReceipt, encodeTransaction, type ReceiptRecord } from './ethereum-maps.js';
import type { TimeAllowance } from './execution-budget.js';
import { evmRefusal, type ExecutionContext } from './execution-context.js';
import { checkSenderAllowed } from './governed-accounts.js';
import type { DecodedTransaction, SupportedTransaction } from './sender.js';

export interface ExecutionResult {
  /** The transaction hash. */
  hash: Uint8Array;
  blockNumber: bigint;
  blockHash: Uint8Array;
  receipt: ReceiptRecord;
  /** What the top-level call returned; its revert data when it reverted. */
  returnValue: Uint8Array;
  /** The EVM's reason when status is 0 ('revert', 'out of gas', 'invalid opcode', ...). */
  error: string | undefined;
}

/** The fee per gas the sender offers at most. */
function maxFeePerGas(tx: SupportedTransaction): bigint {
  return 'maxFeePerGas' in tx ? tx.maxFeePerGas : tx.gasPrice;
}

function checkGas(tx: SupportedTransaction, context: ExecutionContext): void {
  if (tx.gasLimit > context.blockGasLimit) {
    throw new CocoError('GasLimitExceeded', `exceeds block gas limit: the transaction asks for ${tx.gasLimit} gas, a block holds ${context.blockGasLimit}`);
  }
  const minimum = getMinimumGasLimit(tx);
  if (tx.gasLimit < minimum) {
    throw new CocoError('IntrinsicGasTooLow', `intrinsic gas too low: have ${tx.gasLimit}, want ${minimum}`);
  }
}

/** Ethereum's "nonce too high", with the nonces, so that the transaction may wait for the ones before it. */
export class NonceTooHigh extends CocoError {
  constructor(readonly sender: string, readonly nonce: bigint, readonly stateNonce: bigint, waitedMs?: number) {
    const waited = waitedMs === undefined ? '' : `; it waited ${waitedMs} ms for the transactions before it`;
    super('NonceTooHigh', `nonce too high: address ${sender}, tx: ${nonce} state: ${stateNonce}${waited}: send nonce ${stateNonce} first`);
  }
}

function checkSender(tx: SupportedTransaction, sender: Address, account: Account | undefined): void {
  const nonce = account?.nonce ?? 0n;
  if (tx.nonce < nonce) throw new CocoError('NonceTooLow', `nonce too low: address ${sender}, tx: ${tx.nonce} state: ${nonce}`);
  if (tx.nonce > nonce) throw new NonceTooHigh(sender.toString(), tx.nonce, nonce);
  if (account?.isContract() === true) throw new CocoError('SenderNotEoa', `sender not an eoa: address ${sender} holds code`);
  checkFunds(sender, account?.balance ?? 0n, tx.gasLimit * maxFeePerGas(tx) + tx.value);
}

/** Refuses a transaction or call whose sender cannot pay `cost` (gas limit × fee + value). */
export function checkFunds(sender: Address, balance: bigint, cost: bigint): void {
  if (balance < cost) {
    throw new CocoError('InsufficientFunds', `insufficient funds for gas * price + value: address ${sender} have ${balance} want ${cost}`);
  }
}

/**
 * Runs `decoded` against the state seen through `kvTx` and writes its effects, its transaction,
 * receipt and block to `kvTx`, and nothing anywhere else. Throws CocoError (SenderFrozen,
 * SenderNotAllowed, GasLimitExceeded, IntrinsicGasTooLow, NonceTooLow, NonceTooHigh, SenderNotEoa, InsufficientFunds)
 * with nothing written when Ethereum would not include the transaction. The caller commits `kvTx`;
 * after a TransactionConflict it runs the transaction again in a new one. The run stops past the time
 * limit, or past what is left of `allowance`.
 */
export async function executeTransaction(kvTx: Transaction, decoded: DecodedTransaction, context: ExecutionContext, allowance?: TimeAllowance): Promise<ExecutionResult> {
  return context.run(kvTx, async ({ vm, state, at: pending, block }) => {
    const { tx, sender, hash } = decoded;
    // One that ran already is refused by its nonce, as geth refuses a mined one (its "already
    // known" is for one waiting in its pool: future-nonces.ts).
    checkSenderAllowed(kvTx, sender.bytes);
    checkGas(tx, context);
    checkSender(tx, sender, await state.getAccount(sender));
    let result: RunTxResult;
    try {
      result = await runTx(vm, { tx, block, skipHardForkValidation: true });
    } catch (error) {
      // The checks above mirror runTx's own; reaching here means they missed one (or time ran out).
      throw evmRefusal(error, 'InvalidTransaction', 'transaction');
    }
    const failure = result.execResult.exceptionError;
    const receipt: ReceiptRecord = {
      status: failure === undefined ? 1 : 0,
      gasUsed: result.totalGasSpent,
      contractAddress: tx.to === undefined ? generateAddress(sender.bytes, bigIntToUnpaddedBytes(tx.nonce)) : undefined,
      logs: failure === undefined ? (result.execResult.logs ?? []).map(([address, topics, data]) => ({ address, topics, data })) : [],
    };
    const receiptBytes = encodeReceipt(receipt);
    state.flush();
    kvTx.map(context.maps.transactions).set(hash, encodeTransaction({ blockNumber: pending.number, sender: sender.bytes, raw: decoded.raw }));
    kvTx.map(context.maps.receipts).set(hash, receiptBytes);
    const blockHash = context.blocks.append(kvTx, pending, hash, receiptBytes);
    return { hash, blockNumber: pending.number, blockHash, receipt, returnValue: result.execResult.returnValue, error: failure?.error };
  }, allowance);
}
