// The Ethereum JSON-RPC methods Coco answers, over a small backend that node/ provides: KV reads of
// the node's current state, Coco write transactions, and how far the node knows them Committed.
// Block tags name the latest block whose Coco transaction is Committed (latest = safe = finalized =
// pending); state is always read as it is now on this node, so a state query for an older block
// is refused. Receipts, and mined transactions, appear only once their Coco transaction is Committed.
// What is Committed is read once per request, so that the elements of a batch agree on it.

import type { TxStatus } from '../consensus/tx-status.js';
import { equalBytes, fromHex } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { readAccount, readCode, readStorage } from './account-state.js';
import type { ChainBlock } from './blocks.js';
import { keccak256 } from '../crypto/keccak.js';
import { call, createAccessList, estimateGas, type CallParams } from './call.js';
import { decodeReceipt, decodeTransaction, receiptGasUsed, type ReceiptRecord, type TransactionRecord } from './ethereum-maps.js';
import { executeTransaction, NonceTooHigh } from './execute.js';
import type { ExecutionContext } from './execution-context.js';
import { Filters, type Filter } from './filters.js';
import { FutureNonces, type HeldTransaction } from './future-nonces.js';
import { JsonRpcError, type JsonRpcMethods, type RequestScope } from './json-rpc.js';
import { FEE_HISTORY_BLOCKS_MAX, FEE_HISTORY_PERCENTILES_MAX, FILTER_POLL_BLOCKS_MAX, FUTURE_NONCE_WAIT_MS, SEND_ANSWER_MS, STORAGE_VALUES_SLOTS_MAX } from './limits.js';
import { parseLogFilter, type LogFilter } from './log-filter.js';
import { scanLogs } from './log-scan.js';
import { OneAtATime, type JobTurns } from './one-at-a-time.js';
import { ethereumClaimsDigest } from './receipt-claims.js';
import { ExecutionReverted, revertMessage } from './revert.js';
import { blockObject, effectiveGasPrice, receiptObject, transactionObject, type Location } from './rpc-objects.js';
import {
  data,
  invalidParams,
  parseAddress,
  parseBlockNumberOrTag,
  parseBlockSelector,
  parseCallParams,
  parseData,
  parseHash,
  parseQuantity,
  parseStorageSlot,
  parseStateOverrides,
  quantity,
  type BlockNumberOrTag,
  type BlockSelector,
  type BlockTag,
} from './rpc-values.js';
import { ScanDeadline } from './scan-deadline.js';
import { decodeRawTransaction, parseTransaction, summarizeTransaction, type DecodeOptions } from './sender.js';
import { storedReceiptBytes } from './stored-receipt.js';

/** What the Ethereum methods need from the node. */
export interface EthereumBackend {
  /** A KV transaction over the node's current state, only read and then dropped (never committed). */
  readTransaction(): Transaction;
  /**
   * Runs `work` in a new Coco transaction and commits it, running it again in a new transaction if
   * the commit meets a TransactionConflict. Resolves with `work`'s result and the committed
   * transaction's TxID; when `work` throws, nothing is committed and the error comes back.
   * `claims`, when given, makes the transaction's claims digest (its receipt proves it) from what `work` resolved with.
   */
  writeTransaction<T>(work: (tx: Transaction) => Promise<T>, claims?: (result: T) => Uint8Array): Promise<{ result: T; txId: TxId }>;
  /**
   * The seqno this node knows to be Committed: every transaction of its current state up to it is
   * final (the KV keeps, as a key's version, the seqno of the transaction that wrote it).
   */
  commitSeqno(): bigint;
  /** The TxID of the transaction at `seqno` in this node's ledger (for receipts); undefined when unknown. */
  txIdAt(seqno: bigint): TxId | undefined;
  /**
   * Settles with the status of `txId`, a transaction this node wrote, once it is Committed or
   * Invalid (an election rolled it back) on this node, or after `timeoutMs` with its status then.
   */
  finality(txId: TxId, timeoutMs: number): Promise<TxStatus>;
}

export interface EthereumMethodsOptions {
  /** What web3_clientVersion answers. */
  clientVersion: string;
  /** What eth_gasPrice answers, in wei: Coco's base fee is 0, so 0 by default. */
  gasPrice?: bigint;
  /** When queued transactions give the event loop a turn (see OneAtATime); never without. */
  writeTurns?: JobTurns;
  /** What net_peerCount answers: how many other nodes this node has a channel open to (0 without). */
  peerCount?: () => number;
  /** The clock (ms) that expires filters nobody polls and bounds a future nonce's wait; performance.now by default. */
  nowMs?: () => number;
  /** How long a transaction ahead of its sender's nonce waits for the ones before it; FUTURE_NONCE_WAIT_MS by default. */
  futureNonceWaitMs?: number;
  /** How long after it comes a send answers at the latest, its wait to be known Committed included; SEND_ANSWER_MS by default. */
  sendAnswerMs?: number;
}

/** A read of the chain: the node's current state, and the seqno up to which its request takes that state as Committed. */
interface ChainRead {
  readonly tx: Transaction;
  readonly committedSeqno: bigint;
}

/** What a logs filter (eth_newFilter) matches: a block range, either end open (new blocks), and addresses and topics. */
interface LogCriteria {
  from: bigint | undefined;
  to: bigint | undefined;
  filter: LogFilter;
}

/**
 * How stored and waiting transactions are read back: they were admitted already, so one signed
 * without a chain id is shown, not refused (on a service that recorded no settings, another node's
 * configuration may have admitted it).
 */
const ADMITTED: DecodeOptions = { allowUnprotected: true };

/** The blob base fee of every block: with no blobs, the protocol's minimum of 1 wei, which the EVM's BLOBBASEFEE answers too. */
const BLOB_BASE_FEE = 1n;

function arity(params: unknown[], min: number, max: number, usage: string): void {
  if (params.length < min || params.length > max) throw invalidParams(`expected ${usage}, got ${params.length} parameters`);
}

/**
 * eth_sendRawTransactionSync's timeout: a number of ms, as a JSON number (EIP-7966's example, viem) or
 * a quantity (geth); as the EIP says, none, 0 or an invalid one is the node's, and one longer than
 * the node's is cut to it.
 */
function syncTimeoutMs(value: unknown, nodeMs: number): number {
  let asked: number | undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) asked = value;
  else if (typeof value === 'string' && /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,12})$/.test(value)) asked = Number(value);
  return asked === undefined || asked <= 0 || asked > nodeMs ? nodeMs : asked;
}

function fullTransactions(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidParams('the second parameter must be a boolean: true for full transactions, false for hashes');
  return value;
}

/** The JSON-RPC method table, answering from `backend` with `context`'s chain settings. */
export function ethereumMethods(backend: EthereumBackend, context: ExecutionContext, options: EthereumMethodsOptions): JsonRpcMethods {
  const { maps, blocks } = context;
  /**
   * Ethereum transactions are written one at a time, each committed before the next runs: every one
   * moves the head block, so two run side by side would conflict, and the later one's EVM run (and
   * its block) would be built on a head that is no longer the head.
   */
  const writes = new OneAtATime(options.writeTurns);
  const nowMs = options.nowMs ?? (() => performance.now());
  const filters = new Filters<LogCriteria>(nowMs);
  const futureNonces = new FutureNonces();
  const sendAnswerMs = options.sendAnswerMs ?? SEND_ANSWER_MS;

  /**
   * Runs `work` over a read of the node's current state, at `scope`'s commit point (the node's when
   * the request first read: see RequestScope.committedSeqno); its transaction is dropped when it settles.
   */
  function reading<T>(scope: RequestScope, work: (read: ChainRead) => T | Promise<T>): Promise<T> {
    scope.committedSeqno ??= backend.commitSeqno();
    return readingAt(scope.committedSeqno, work);
  }

  /** Runs `work` over a read of the node's current state, taken as Committed up to `committedSeqno`. */
  async function readingAt<T>(committedSeqno: bigint, work: (read: ChainRead) => T | Promise<T>): Promise<T> {
    const tx = backend.readTransaction();
    try {
      return await work({ tx, committedSeqno });
    } finally {
      if (tx.isOpen) tx.abort();
    }
  }

  function isCommitted(read: ChainRead, seqno: bigint | undefined): seqno is bigint {
    return seqno !== undefined && seqno <= read.committedSeqno;
  }

  function latest(read: ChainRead): bigint {
    return blocks.latestCommitted(read.tx, (seqno) => isCommitted(read, seqno));
  }

  /** The number `selector` names among committed blocks; undefined when there is no such block. */
  function resolveBlock(read: ChainRead, selector: BlockSelector): bigint | undefined {
    const last = latest(read);
    if ('hash' in selector) {
      const number = blocks.numberOf(read.tx, selector.hash);
      return number !== undefined && number <= last ? number : undefined;
    }
    if ('number' in selector) return selector.number <= last ? selector.number : undefined;
    return selector.tag === 'earliest' ? 0n : last;
  }

  /** Refuses a state query for any block but the latest: only the current state is kept. */
  function checkCurrentState(read: ChainRead, selector: BlockSelector): void {
    if ('tag' in selector && selector.tag !== 'earliest') return;
    const number = resolveBlock(read, selector);
    if (number === undefined) throw new JsonRpcError(-32000, 'header not found');
    const last = latest(read);
    if (number < last) {
      throw new JsonRpcError(-32000, `historical state is not available: Coco keeps the current state only (block ${last}); query "latest"`);
    }
  }

  function location(read: ChainRead, number: bigint): Location | undefined {
    if (!isCommitted(read, blocks.seqnoOf(read.tx, number))) return undefined;
    const block = blocks.get(read.tx, number);
    return block === undefined ? undefined : { blockNumber: number, blockHash: block.hash, timestamp: block.timestamp };
  }

  function storedTransaction(tx: Transaction, hash: Uint8Array): TransactionRecord | undefined {
    const value = tx.map(maps.transactions).get(hash);
    return value === undefined ? undefined : decodeTransaction(value);
  }

  function storedReceipt(tx: Transaction, hash: Uint8Array): ReceiptRecord {
    return decodeReceipt(storedReceiptBytes(tx, maps, hash));
  }

  /** The receipt object of transaction `hash` once it is Committed in a block; null before. */
  function committedReceipt(read: ChainRead, hash: Uint8Array): Record<string, unknown> | null {
    const { tx } = read;
    const record = storedTransaction(tx, hash);
    const seqno = tx.map(maps.receipts).getVersionOfPreviousWrite(hash);
    if (record === undefined || !isCommitted(read, seqno)) return null;
    const where = location(read, record.blockNumber);
    if (where === undefined) return null;
    const txId = backend.txIdAt(seqno);
    return receiptObject(hash, record, summarizeTransaction(record.raw), storedReceipt(tx, hash), where, txId === undefined ? null : formatTxId(txId));
  }

  /**
   * Runs the signed transaction `raw` as the primary (see eth_sendRawTransaction), then waits until
   * this node knows it Committed or rolled back, or until `answerMs` after it came: its hash, with
   * its Coco transaction and status then.
   */
  async function send(raw: unknown, scope: RequestScope, answerMs: number): Promise<{ hash: string; txId: TxId; status: TxStatus }> {
    const answerByMs = nowMs() + answerMs;
    // Decoding recovers the sender now, before the Coco transaction, off the execution path.
    const decoded = decodeRawTransaction(parseData(raw, 'signed transaction'), context.common, { allowUnprotected: context.allowUnprotectedTransactions });
    const sender = decoded.sender.toString();
    const deadlineMs = Math.min(nowMs() + (options.futureNonceWaitMs ?? FUTURE_NONCE_WAIT_MS), answerByMs);
    let waitingSinceMs: number | undefined;
    let held: HeldTransaction | undefined;
    let written: TxId;
    try {
      for (;;) {
        // One job runs it or holds it, so that a replacement cannot come between the two (see FutureNonces.hold).
        // Its turn in the queue is a wait: a batch's next sends start meanwhile and queue behind it.
        const outcome = await scope.waitFor(() => writes.run(async (): Promise<{ txId: TxId } | { held: HeldTransaction; ms: number }> => {
          if (held?.replacedBy !== undefined) throw new CocoError('TransactionReplaced', `transaction replaced by ${held.replacedBy}, which has the same sender and nonce and offers more: this one will not run`);
          // Its turn came too late to answer in time: it does not run, and the client knows so. (One
          // waiting for earlier nonces runs once more at its deadline, to say whether they came.)
          if (held === undefined && nowMs() >= answerByMs) {
            throw new CocoError('TransactionNotRun', `transaction ${data(decoded.hash)} did not run: the transactions before it on this node took the ${answerMs / 1000} s its send answers within (the node is busy); send it again`);
          }
          try {
            return await backend.writeTransaction(
              (tx) => executeTransaction(tx, decoded, context, scope.time),
              ({ receipt }) => ethereumClaimsDigest(decoded.hash, { type: decoded.tx.type, status: receipt.status, cumulativeGasUsed: receipt.gasUsed, logs: receipt.logs }),
            );
          } catch (error) {
            // Ahead of its sender's nonce: it waits for the ones before it, sent at the same time (see FutureNonces).
            if (!(error instanceof NonceTooHigh)) throw error;
            const remainingMs = deadlineMs - nowMs();
            if (remainingMs > 0) held ??= futureNonces.hold({ sender, nonce: error.nonce, hash: data(decoded.hash), fees: decoded.tx, raw: decoded.raw }, error.nonce - error.stateNonce);
            if (remainingMs <= 0 || held === undefined) {
              throw waitingSinceMs === undefined ? error : new NonceTooHigh(sender, error.nonce, error.stateNonce, Math.round(nowMs() - waitingSinceMs));
            }
            waitingSinceMs ??= nowMs();
            return { held, ms: remainingMs };
          }
        }));
        if ('txId' in outcome) {
          written = outcome.txId;
          break;
        }
        // The nonces before it may be later elements of the same batch (see RequestScope.waitFor).
        await scope.waitFor(() => futureNonces.waitForNext(outcome.held, outcome.ms));
      }
    } finally {
      if (held !== undefined) futureNonces.release(held);
    }
    futureNonces.written(sender, decoded.tx.nonce);
    const status = await scope.waitForFinality(() => backend.finality(written, Math.max(0, answerByMs - nowMs())));
    return { hash: data(decoded.hash), txId: written, status };
  }

  /** What a send answers for a transaction an election rolled back. */
  function rolledBack(hash: string, txId: TxId): Error {
    return new CocoError('TransactionRolledBack', `transaction ${hash} was rolled back by an election (Coco transaction ${formatTxId(txId)} is Invalid): it did not run and its nonce was not used, so send it again`);
  }

  /** The committed block `selector` names, if any. */
  function blockAt(read: ChainRead, selector: BlockSelector): ChainBlock | undefined {
    const number = resolveBlock(read, selector);
    return number === undefined ? undefined : blocks.get(read.tx, number);
  }

  /** `answer` about the block `selector` names; null when there is no such block, as geth answers. */
  function blockQuery<T>(scope: RequestScope, selector: BlockSelector, answer: (tx: Transaction, block: ChainBlock) => T): Promise<T | null> {
    return reading(scope, (read) => {
      const block = blockAt(read, selector);
      return block === undefined ? null : answer(read.tx, block);
    });
  }

  function transactionInBlock(tx: Transaction, block: ChainBlock, index: bigint): Record<string, unknown> | null {
    if (index !== 0n || block.txHash === undefined) return null;
    const record = storedTransaction(tx, block.txHash);
    return record === undefined ? null : includedTransaction(block, block.txHash, record);
  }

  /** The transaction object of `record`, included in `block`. */
  function includedTransaction(block: ChainBlock, hash: Uint8Array, record: TransactionRecord): Record<string, unknown> {
    return transactionObject(hash, record.sender, parseTransaction(record.raw, context.common, ADMITTED), { blockNumber: block.number, blockHash: block.hash, timestamp: block.timestamp });
  }

  function blockJson(tx: Transaction, block: ChainBlock, full: boolean): Record<string, unknown> {
    let content;
    if (block.txHash !== undefined) {
      const record = storedTransaction(tx, block.txHash);
      if (record === undefined) throw new CocoError('InternalError', `the transaction of block ${block.number} is missing`);
      const transaction = full ? includedTransaction(block, block.txHash, record) : data(block.txHash);
      content = { receipt: storedReceipt(tx, block.txHash), transaction, transactionBytes: record.raw.length };
    }
    return blockObject(block, content, context.blockGasLimit, context.coinbase.toString());
  }

  async function stateQuery<T>(params: unknown[], scope: RequestScope, usage: string, max: number, work: (tx: Transaction, address: Uint8Array) => T): Promise<T> {
    arity(params, 1, max, usage);
    const address = parseAddress(params[0], 'address');
    const selector = parseBlockSelector(params[max - 1], 'block');
    return reading(scope, (read) => {
      checkCurrentState(read, selector);
      return work(read.tx, address);
    });
  }

  /**
   * `work` over the current state for a method of parameters [call object, block]; the block must be
   * the latest, `absent` when not given. As in geth, the call runs in that block (its number,
   * timestamp, BLOCKHASH below it), and for `pending` in the block that would come next.
   */
  function callQuery<T>(params: unknown[], scope: RequestScope, absent: BlockTag, work: (tx: Transaction, callParams: CallParams) => Promise<T>): Promise<T> {
    const parsed = { ...parseCallParams(params[0], context.chainId), overrides: parseStateOverrides(params[2]) };
    const selector = parseBlockSelector(params[1], 'block', absent);
    return reading(scope, async (read) => {
      checkCurrentState(read, selector);
      const block = 'tag' in selector && selector.tag === 'pending' ? undefined : blockAt(read, selector);
      return work(read.tx, { ...parsed, block });
    });
  }

  /**
   * The logs `filter` selects in blocks `fromSelector` to `toSelector` (eth_getLogs,
   * eth_getFilterLogs): any number of blocks, within the request's bounds. The range is checked as
   * geth and execution-apis check it once its tags are read: -32602 when reversed, or when it ends
   * past this node's latest block. A node behind the others (a backup a moment after the primary's
   * commit) must not answer a range it has not seen whole as one without logs: an indexer would mark
   * it done.
   */
  function rangeLogs(read: ChainRead, fromSelector: BlockNumberOrTag, toSelector: BlockNumberOrTag, filter: LogFilter, scope: RequestScope): Record<string, unknown>[] {
    const last = latest(read);
    const numberOf = (selector: BlockNumberOrTag): bigint => ('number' in selector ? selector.number : selector.tag === 'earliest' ? 0n : last);
    const from = numberOf(fromSelector);
    const to = numberOf(toSelector);
    if (from > to) throw invalidParams('invalid block range params');
    if (to > last) throw invalidParams('block range extends beyond current head block');
    return scanLogs(read.tx, blocks, { from, to, filter }, scope, nowMs).logs;
  }

  /** A filter object's fields, or -32602. */
  function filterFields(value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalidParams('the filter must be an object like { fromBlock, toBlock, address, topics }');
    }
    return value as Record<string, unknown>;
  }

  /** eth_newFilter's criteria, checked as geth checks them: either end open (latest) or a number, and never pending. */
  function parseLogCriteria(value: unknown): LogCriteria {
    const fields = filterFields(value);
    if (fields.blockHash !== undefined) throw invalidParams('a filter reports new blocks and cannot name a blockHash: use eth_getLogs for the logs of one block');
    const filter = parseLogFilter(fields);
    const end = (field: string): bigint | undefined => {
      const selector = parseBlockNumberOrTag(fields[field], `filter.${field}`);
      if ('number' in selector) return selector.number;
      if (selector.tag === 'pending') throw new JsonRpcError(-32000, 'pending logs are not supported');
      return selector.tag === 'earliest' ? 0n : undefined;
    };
    const from = end('fromBlock');
    const to = end('toBlock');
    if ((from === undefined && to !== undefined) || (from !== undefined && to !== undefined && from > to)) {
      throw new JsonRpcError(-32000, 'invalid from and to block combination');
    }
    return { from, to, filter };
  }

  /**
   * What `filter` reports since its last poll, over at most FILTER_POLL_BLOCKS_MAX blocks; its cursor
   * moves past what it reports. Logs and block hashes come from Committed blocks only, as the block
   * tags name them; transaction hashes from every block this node holds, as a pool would show them.
   */
  function filterChanges(read: ChainRead, filter: Filter<LogCriteria>, scope: RequestScope): unknown[] {
    const { tx } = read;
    const committed = latest(read);
    const top = filter.kind === 'transactions' ? blocks.head(tx) : committed;
    // An election can roll back blocks not yet Committed, and new blocks take their numbers: a
    // filter whose last block is no longer there starts again after the last Committed one.
    if (filter.cursor > committed && (filter.cursorHash === undefined || !equalBytes(blocks.hashOf(tx, filter.cursor) ?? new Uint8Array(), filter.cursorHash))) {
      filter.cursor = committed;
    }
    const cursor = filter.cursor;
    const end = top < cursor + BigInt(FILTER_POLL_BLOCKS_MAX) ? top : cursor + BigInt(FILTER_POLL_BLOCKS_MAX);
    if (end <= cursor) return [];
    if (filter.criteria === undefined) {
      const hashes: string[] = [];
      for (let number = cursor + 1n; number <= end; number++) {
        const hash = filter.kind === 'blocks' ? blocks.hashOf(tx, number) : blocks.get(tx, number)?.txHash;
        if (hash !== undefined) hashes.push(data(hash));
      }
      filter.cursor = end;
      filter.cursorHash = blocks.hashOf(tx, end);
      return hashes;
    }
    const { from, to, filter: selection } = filter.criteria;
    const low = from !== undefined && from > cursor + 1n ? from : cursor + 1n;
    const high = to !== undefined && to < end ? to : end;
    if (low > high) {
      filter.cursor = end;
      return [];
    }
    // Logs come from Committed blocks only: the cursor needs no hash to survive an election.
    const { logs, through } = scanLogs(tx, blocks, { from: low, to: high, filter: selection }, scope, nowMs, (number) => (filter.cursor = number));
    filter.cursor = through === high ? end : through;
    return logs;
  }

  /** A method that takes no parameters: geth refuses any, and so does Coco. */
  const withoutParams = (answer: (scope: RequestScope) => unknown) => async (params: unknown[], scope: RequestScope) => {
    arity(params, 0, 0, '[]');
    return answer(scope);
  };

  const methods: Record<string, (params: unknown[], scope: RequestScope) => Promise<unknown>> = {
    web3_clientVersion: withoutParams(() => options.clientVersion),
    net_version: withoutParams(() => context.chainId.toString()),
    eth_chainId: withoutParams(() => quantity(context.chainId)),
    eth_syncing: withoutParams(() => false),
    eth_accounts: withoutParams(() => []),
    eth_coinbase: withoutParams(() => context.coinbase.toString()),
    eth_mining: withoutParams(() => false),
    eth_hashrate: withoutParams(() => '0x0'),
    net_listening: withoutParams(() => true),
    net_peerCount: withoutParams(() => quantity(BigInt(options.peerCount?.() ?? 0))),
    async web3_sha3(params) {
      arity(params, 1, 1, '[data]');
      return data(keccak256(parseData(params[0], 'data')));
    },
    eth_gasPrice: withoutParams(() => quantity(options.gasPrice ?? 0n)),
    eth_maxPriorityFeePerGas: withoutParams(() => '0x0'),
    eth_blobBaseFee: withoutParams(() => quantity(BLOB_BASE_FEE)),
    eth_blockNumber: withoutParams((scope) => reading(scope, (read) => quantity(latest(read)))),

    async eth_getBalance(params, scope) {
      return stateQuery(params, scope, '[address, block]', 2, (tx, address) => quantity(readAccount(tx, maps, address)?.balance ?? 0n));
    },
    async eth_getTransactionCount(params, scope) {
      return stateQuery(params, scope, '[address, block]', 2, (tx, address) => quantity(readAccount(tx, maps, address)?.nonce ?? 0n));
    },
    async eth_getCode(params, scope) {
      return stateQuery(params, scope, '[address, block]', 2, (tx, address) => data(readCode(tx, maps, address)));
    },
    async eth_getStorageAt(params, scope) {
      arity(params, 2, 3, '[address, slot, block]');
      const slot = parseStorageSlot(params[1], 'slot');
      return stateQuery([params[0], params[2]], scope, '[address, slot, block]', 2, (tx, address) => data(readStorage(tx, context.blocks, address, slot)));
    },

    async eth_getStorageValues(params, scope) {
      arity(params, 1, 2, '[{address: [slot, ...], ...}, block]');
      const requests = params[0];
      if (typeof requests !== 'object' || requests === null || Array.isArray(requests)) {
        throw invalidParams('the first parameter must be an object whose fields are addresses, each with a list of storage slots');
      }
      let slots = 0;
      const asked = Object.entries(requests).map(([address, keys]) => {
        if (!Array.isArray(keys)) throw invalidParams(`the storage slots of ${address} must be a list`);
        slots += keys.length;
        // As geth: -38026, its code for a request past a client limit.
        if (slots > STORAGE_VALUES_SLOTS_MAX) throw new JsonRpcError(-38026, `too many slots (max ${STORAGE_VALUES_SLOTS_MAX})`);
        return { address: parseAddress(address, 'address'), keys: keys.map((key, i) => parseStorageSlot(key, `storage slot ${i} of ${address}`)) };
      });
      if (slots === 0) throw invalidParams('empty request');
      const selector = parseBlockSelector(params[1], 'block');
      return reading(scope, (read) => {
        checkCurrentState(read, selector);
        return Object.fromEntries(asked.map(({ address, keys }) => [data(address), keys.map((slot) => data(readStorage(read.tx, context.blocks, address, slot)))]));
      });
    },

    async eth_call(params, scope) {
      arity(params, 1, 4, '[call, block, state overrides]');
      if (params[3] !== undefined && params[3] !== null && (typeof params[3] !== 'object' || Object.keys(params[3]).length > 0)) {
        throw invalidParams('block overrides are not supported: the call runs in the block it names');
      }
      const result = await callQuery(params, scope, 'latest', (tx, callParams) => call(tx, callParams, context, scope.time));
      if (result.status === 1) return data(result.returnValue);
      if (result.error === 'revert') throw new ExecutionReverted(result.returnValue);
      throw new JsonRpcError(-32000, result.error ?? 'execution failed');
    },
    async eth_estimateGas(params, scope) {
      arity(params, 1, 3, '[call, block, state overrides]');
      // Without a block, in the one its transaction would go in, as Hardhat's automine estimates
      // (geth: the latest): a block holds one transaction, so the next is always a new block, and
      // a call whose gas depends on block.number (a slot per block) is estimated as it will run.
      return callQuery(params, scope, 'pending', async (tx, callParams) => quantity(await estimateGas(tx, callParams, context, scope.time)));
    },

    async eth_createAccessList(params, scope) {
      arity(params, 1, 3, '[call, block, state overrides]');
      return callQuery(params, scope, 'latest', async (tx, callParams) => {
        const result = await createAccessList(tx, callParams, context, scope.time);
        // As geth: a call that fails still gets its list, with the reason beside it.
        const error = result.status === 1 ? undefined : result.error === 'revert' ? revertMessage(result.returnValue) : result.error;
        return { accessList: result.accessList, gasUsed: quantity(result.gasUsed), ...(error !== undefined && { error }) };
      });
    },

    async eth_sendRawTransaction(params, scope) {
      arity(params, 1, 1, '[signed transaction]');
      const { hash, status, txId } = await send(params[0], scope, sendAnswerMs);
      if (status === 'Committed') return hash;
      if (status === 'Invalid') throw rolledBack(hash, txId);
      // The hash as data too, as EIP-7966's timeout gives it.
      throw new JsonRpcError(
        -32000,
        `transaction ${hash} ran on the primary, but is not Committed within ${sendAnswerMs / 1000} s of its arrival (Coco transaction ${formatTxId(txId)} is ${status}): ` +
          'an election may still roll it back, so it may or may not have run; look it up with eth_getTransactionByHash before sending it again',
        hash,
      );
    },
    async eth_sendRawTransactionSync(params, scope) {
      arity(params, 1, 2, '[signed transaction, timeout in ms]');
      const waitMs = syncTimeoutMs(params[1], sendAnswerMs);
      const { hash, status, txId } = await send(params[0], scope, waitMs);
      if (status === 'Invalid') throw rolledBack(hash, txId);
      if (status !== 'Committed') {
        // geth's answer (EIP-7966's code 4, the hash as data), then why the outcome is still open.
        throw new JsonRpcError(
          4,
          `The transaction was added to the transaction pool but wasn't processed in ${waitMs / 1000}s: it ran on the primary, but is not Committed (Coco transaction ${formatTxId(txId)} is ${status}); ` +
            'an election may still roll it back, so look it up with eth_getTransactionByHash before sending it again',
          hash,
        );
      }
      // At the node's commit now: the request's earlier reads may have fixed its commit point before this commit.
      return readingAt(backend.commitSeqno(), (read) => committedReceipt(read, fromHex(hash.slice(2))));
    },

    async eth_getTransactionByHash(params, scope) {
      arity(params, 1, 1, '[transaction hash]');
      const hash = parseHash(params[0], 'transaction hash');
      return reading(scope, (read) => {
        const record = storedTransaction(read.tx, hash);
        if (record !== undefined) return transactionObject(hash, record.sender, parseTransaction(record.raw, context.common, ADMITTED), location(read, record.blockNumber));
        // As geth, which looks in its pool, queued transactions included: one waiting for the nonces
        // before its own is shown pending (null block fields).
        const held = futureNonces.find(data(hash));
        return held === undefined ? null : transactionObject(hash, fromHex(held.sender.slice(2)), parseTransaction(held.raw, context.common, ADMITTED), undefined);
      });
    },
    async eth_getTransactionReceipt(params, scope) {
      arity(params, 1, 1, '[transaction hash]');
      const hash = parseHash(params[0], 'transaction hash');
      return reading(scope, (read) => committedReceipt(read, hash));
    },
    async eth_getBlockReceipts(params, scope) {
      arity(params, 1, 1, '[block]');
      const selector = parseBlockSelector(params[0], 'block');
      return reading(scope, (read) => {
        const block = blockAt(read, selector);
        if (block === undefined) return null;
        return block.txHash === undefined ? [] : [committedReceipt(read, block.txHash)];
      });
    },

    async eth_getBlockByNumber(params, scope) {
      arity(params, 1, 2, '[block, full transactions]');
      const selector = parseBlockSelector(params[0], 'block');
      const full = fullTransactions(params[1]);
      return blockQuery(scope, selector, (tx, block) => blockJson(tx, block, full));
    },
    async eth_getBlockByHash(params, scope) {
      arity(params, 1, 2, '[block hash, full transactions]');
      const hash = parseHash(params[0], 'block hash');
      const full = fullTransactions(params[1]);
      return blockQuery(scope, { hash }, (tx, block) => blockJson(tx, block, full));
    },
    // A block holds one transaction at most (see docs/ethereum.md), and never an uncle.
    async eth_getBlockTransactionCountByNumber(params, scope) {
      arity(params, 1, 1, '[block]');
      return blockQuery(scope, parseBlockSelector(params[0], 'block'), (_, block) => quantity(block.txHash === undefined ? 0 : 1));
    },
    async eth_getBlockTransactionCountByHash(params, scope) {
      arity(params, 1, 1, '[block hash]');
      return blockQuery(scope, { hash: parseHash(params[0], 'block hash') }, (_, block) => quantity(block.txHash === undefined ? 0 : 1));
    },
    async eth_getTransactionByBlockNumberAndIndex(params, scope) {
      arity(params, 2, 2, '[block, index]');
      const index = parseQuantity(params[1], 'index', 64);
      return blockQuery(scope, parseBlockSelector(params[0], 'block'), (tx, block) => transactionInBlock(tx, block, index));
    },
    async eth_getTransactionByBlockHashAndIndex(params, scope) {
      arity(params, 2, 2, '[block hash, index]');
      const index = parseQuantity(params[1], 'index', 64);
      return blockQuery(scope, { hash: parseHash(params[0], 'block hash') }, (tx, block) => transactionInBlock(tx, block, index));
    },
    async eth_getUncleCountByBlockNumber(params, scope) {
      arity(params, 1, 1, '[block]');
      return blockQuery(scope, parseBlockSelector(params[0], 'block'), () => '0x0');
    },
    async eth_getUncleCountByBlockHash(params, scope) {
      arity(params, 1, 1, '[block hash]');
      return blockQuery(scope, { hash: parseHash(params[0], 'block hash') }, () => '0x0');
    },
    async eth_getUncleByBlockNumberAndIndex(params) {
      arity(params, 2, 2, '[block, index]');
      parseBlockSelector(params[0], 'block');
      parseQuantity(params[1], 'index', 64);
      return null;
    },
    async eth_getUncleByBlockHashAndIndex(params) {
      arity(params, 2, 2, '[block hash, index]');
      parseHash(params[0], 'block hash');
      parseQuantity(params[1], 'index', 64);
      return null;
    },

    async eth_getLogs(params, scope) {
      arity(params, 1, 1, '[filter]');
      const fields = filterFields(params[0]);
      const filter = parseLogFilter(fields);
      return reading(scope, (read) => {
        if (fields.blockHash !== undefined) {
          if (fields.fromBlock !== undefined || fields.toBlock !== undefined) throw invalidParams('a filter has either blockHash or fromBlock/toBlock');
          const number = resolveBlock(read, { hash: parseHash(fields.blockHash, 'filter.blockHash') });
          if (number === undefined) throw new JsonRpcError(-32000, 'unknown block');
          return rangeLogs(read, { number }, { number }, filter, scope);
        }
        return rangeLogs(read, parseBlockNumberOrTag(fields.fromBlock, 'filter.fromBlock'), parseBlockNumberOrTag(fields.toBlock, 'filter.toBlock'), filter, scope);
      });
    },

    async eth_newFilter(params, scope) {
      arity(params, 1, 1, '[filter]');
      const criteria = parseLogCriteria(params[0]);
      return reading(scope, (read) => filters.install(scope.caller, 'logs', latest(read), criteria));
    },

    async eth_newBlockFilter(params, scope) {
      arity(params, 0, 0, '[]');
      return reading(scope, (read) => filters.install(scope.caller, 'blocks', latest(read)));
    },

    async eth_newPendingTransactionFilter(params, scope) {
      arity(params, 0, 1, '[full transactions]');
      if (params[0] !== undefined && params[0] !== false) throw invalidParams('pending transaction filters report hashes only: leave out the full transactions flag');
      return reading(scope, ({ tx }) => {
        const head = blocks.head(tx);
        return filters.install(scope.caller, 'transactions', head, undefined, blocks.hashOf(tx, head));
      });
    },

    async eth_getFilterChanges(params, scope) {
      arity(params, 1, 1, '[filter id]');
      const filter = filters.poll(params[0]);
      return reading(scope, (read) => filterChanges(read, filter, scope));
    },

    async eth_getFilterLogs(params, scope) {
      arity(params, 1, 1, '[filter id]');
      const filter = filters.poll(params[0]);
      // As geth: only a logs filter has logs to list.
      if (filter.criteria === undefined) throw new JsonRpcError(-32000, 'filter not found');
      const { from, to, filter: selection } = filter.criteria;
      // As geth: the filter's range, an open end the latest block.
      const end = (number: bigint | undefined): BlockNumberOrTag => (number === undefined ? { tag: 'latest' } : { number });
      return reading(scope, (read) => rangeLogs(read, end(from), end(to), selection, scope));
    },

    async eth_uninstallFilter(params) {
      arity(params, 1, 1, '[filter id]');
      return filters.uninstall(params[0]);
    },

    async eth_feeHistory(params, scope) {
      arity(params, 2, 3, '[block count, newest block, reward percentiles]');
      // Some clients send the block count as a JSON number rather than a quantity.
      const count = Number.isSafeInteger(params[0]) ? BigInt(params[0] as number) : parseQuantity(params[0], 'block count', 64);
      if (count < 1n) throw invalidParams('block count must be at least 1');
      const percentiles = params[2] ?? [];
      if (
        !Array.isArray(percentiles) ||
        percentiles.length > FEE_HISTORY_PERCENTILES_MAX ||
        percentiles.some((p, i) => typeof p !== 'number' || !(p >= 0 && p <= 100) || (i > 0 && p < (percentiles[i - 1] as number)))
      ) {
        throw invalidParams(`reward percentiles must be at most ${FEE_HISTORY_PERCENTILES_MAX} ascending numbers from 0 to 100`);
      }
      return reading(scope, (read) => {
        const { tx } = read;
        const newest = resolveBlock(read, parseBlockSelector(params[1], 'newest block'));
        if (newest === undefined) throw new JsonRpcError(-32000, 'header not found');
        const span = count < BigInt(FEE_HISTORY_BLOCKS_MAX) ? count : BigInt(FEE_HISTORY_BLOCKS_MAX);
        const oldestAsked = newest + 1n > span ? newest + 1n - span : 0n;
        // Newest first: past the request's time, the history is the newest blocks read, as geth
        // answers fewer blocks than asked when it has fewer. A block's gas used is read from its
        // stored receipt without its logs.
        const gasUsedRatio: number[] = [];
        const reward: string[][] = [];
        const deadline = new ScanDeadline(nowMs, scope.time);
        let oldest = newest;
        try {
          for (let number = newest; number >= oldestAsked && (number === newest || !deadline.passed()); number--) {
            const txHash = blocks.withoutParent(tx, number)?.txHash;
            const gasUsed = txHash === undefined ? 0n : receiptGasUsed(storedReceiptBytes(tx, maps, txHash));
            gasUsedRatio.push(Number(gasUsed) / Number(context.blockGasLimit));
            if (percentiles.length > 0) {
              const record = txHash === undefined ? undefined : storedTransaction(tx, txHash);
              const fee = record === undefined ? 0n : effectiveGasPrice(summarizeTransaction(record.raw));
              reward.push(percentiles.map(() => quantity(fee)));
            }
            oldest = number;
          }
        } finally {
          deadline.settle();
        }
        gasUsedRatio.reverse();
        reward.reverse();
        const history: Record<string, unknown> = {
          oldestBlock: quantity(oldest),
          baseFeePerGas: gasUsedRatio.map(() => '0x0').concat('0x0'),
          gasUsedRatio,
          baseFeePerBlobGas: gasUsedRatio.map(() => quantity(BLOB_BASE_FEE)).concat(quantity(BLOB_BASE_FEE)),
          blobGasUsedRatio: gasUsedRatio.map(() => 0),
        };
        if (percentiles.length > 0) history.reward = reward;
        return history;
      });
    },
  };
  return methods;
}
