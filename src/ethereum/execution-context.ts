// The long-lived part of Ethereum execution on one node: the chain's settings, one EthereumJS VM over
// the KV state manager, and the map layout. The VM serves one run at a time (`run` queues the
// others), each run over the KV transaction its caller gives, so that a run touches nothing else.

import { createBlock, type Block, type BlockHeader } from '@ethereumjs/block';
import type { Common } from '@ethereumjs/common';
import type { EVMMockBlockchainInterface } from '@ethereumjs/evm';
import { Address } from '@ethereumjs/util';
import { createVM, type VM } from '@ethereumjs/vm';
import { CocoError, invariant } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { Blocks, type ExecutionBlock } from './blocks.js';
import { ExecutionBudget, type TimeAllowance } from './execution-budget.js';
import { installCodeAnalysisCache } from './code-analysis-cache.js';
import { createChainCommon, keepEipAnswers } from './chain-rules.js';
import { OneAtATime } from './one-at-a-time.js';
import { kzgPointEvaluation } from './kzg-point-evaluation.js';
import { timedPrecompiles } from './precompile-time.js';
import { ADDRESS_BYTES, ethereumMaps, type EthereumMaps } from './ethereum-maps.js';
import { KvStateManager } from './kv-state-manager.js';
import { BLOCK_GAS_LIMIT_DEFAULT } from './limits.js';

export interface EthereumConfig {
  /** The service's chain id (see chain-settings.ts). */
  chainId: bigint;
  /** Gas limit of each block, and so of each transaction (which Osaka also caps at 2^24). */
  blockGasLimit?: bigint;
  /** Who receives transaction fees (none when the gas price is 0); the zero address by default. */
  coinbase?: Uint8Array;
  /** Keep the Ethereum maps in the public domain (clear in the ledger) instead of the private one. */
  publicState?: boolean;
  /** Accept legacy transactions signed without a chain id (see chain-settings.ts); refused by default. */
  allowUnprotectedTransactions?: boolean;
  /** Seconds since the Unix epoch, for the timestamp of new blocks. Host time, read by node/. */
  clock: () => number;
  /** A limit on each run's time, with the monotonic clock (ms) that measures it; no limit when absent. */
  timeLimit?: { maxExecutionMs: number; monotonicMs: () => number };
}

/** The configuration with its defaults filled in (only the time limit stays optional). */
type FullConfig = EthereumConfig & Required<Omit<EthereumConfig, 'timeLimit'>>;

/**
 * What to throw when EthereumJS throws during a run: the time limit's own error as it is, anything
 * else as a CocoError `code` saying that `what` was refused by the EVM (EthereumJS appends a dump of
 * the transaction to its messages; the first clause is the reason).
 */
export function evmRefusal(error: unknown, code: string, what: string): Error {
  if (error instanceof CocoError && error.code === 'ExecutionTimeLimit') return error;
  const reason = error instanceof Error ? error.message.split(' (')[0] : String(error);
  return new CocoError(code, `${what} refused by the EVM: ${reason}`, { cause: error });
}

/** What a run gets: the VM over the run's KV transaction, and the block it executes in (as Coco keeps it, and as the VM's block). */
export interface Run {
  readonly vm: VM;
  readonly state: KvStateManager;
  readonly at: ExecutionBlock;
  readonly block: Block;
}

/** The EVM's view of earlier blocks, for BLOCKHASH: their hashes, read through the running KV transaction. */
class BlockHashes implements EVMMockBlockchainInterface {
  readonly #blocks: Blocks;
  /** The KV transaction of the run in progress. */
  tx: Transaction | undefined;

  constructor(blocks: Blocks) {
    this.#blocks = blocks;
  }

  async getBlock(number: number): Promise<{ hash(): Uint8Array }> {
    invariant(this.tx !== undefined, 'BLOCKHASH runs inside a run');
    // The EVM only asks for the 256 blocks below the running one, which all exist.
    const hash = this.#blocks.hashOf(this.tx, BigInt(number));
    invariant(hash !== undefined, `block ${number} below the running block exists`);
    return { hash: () => hash };
  }

  async putBlock(): Promise<void> {
    throw new CocoError('Unsupported', 'blocks are written by Coco, not by the EVM');
  }

  shallowCopy(): EVMMockBlockchainInterface {
    return this;
  }
}

export class ExecutionContext {
  readonly chainId: bigint;
  readonly blockGasLimit: bigint;
  readonly coinbase: Address;
  /** The chain definition transactions are decoded with (see decodeRawTransaction). */
  readonly common: Common;
  /** Whether eth_sendRawTransaction accepts legacy transactions signed without a chain id. */
  readonly allowUnprotectedTransactions: boolean;
  readonly maps: EthereumMaps;
  readonly blocks: Blocks;
  readonly #clock: () => number;
  readonly #vm: VM;
  readonly #state: KvStateManager;
  readonly #blockHashes: BlockHashes;
  readonly #budget: ExecutionBudget | undefined;
  /**
   * The block every run executes in, its number, parent and timestamp set per run (runs are one at a
   * time): building a header copies the chain's parameters, ~150 µs, a seventh of an ERC-20 transfer.
   */
  readonly #block: Block;
  /** One run at a time: the VM and its state manager serve one KV transaction. */
  readonly #runs = new OneAtATime();

  private constructor(
    config: FullConfig,
    common: Common,
    parts: { vm: VM; state: KvStateManager; blockHashes: BlockHashes; blocks: Blocks; budget: ExecutionBudget | undefined },
  ) {
    this.chainId = config.chainId;
    this.blockGasLimit = config.blockGasLimit;
    this.coinbase = new Address(config.coinbase);
    this.common = common;
    this.allowUnprotectedTransactions = config.allowUnprotectedTransactions;
    this.maps = parts.blocks.maps;
    this.blocks = parts.blocks;
    this.#clock = config.clock;
    this.#vm = parts.vm;
    this.#state = parts.state;
    this.#blockHashes = parts.blockHashes;
    this.#budget = parts.budget;
    this.#block = createBlock(
      { header: { number: 1n, gasLimit: this.blockGasLimit, baseFeePerGas: 0n, coinbase: this.coinbase } },
      { common: parts.vm.common, freeze: false },
    );
  }

  static async create(config: EthereumConfig): Promise<ExecutionContext> {
    const full: FullConfig = {
      blockGasLimit: BLOCK_GAS_LIMIT_DEFAULT,
      coinbase: new Uint8Array(ADDRESS_BYTES),
      publicState: false,
      allowUnprotectedTransactions: false,
      ...config,
    };
    if (typeof full.blockGasLimit !== 'bigint' || full.blockGasLimit < 21_000n || full.blockGasLimit >= 2n ** 63n) {
      throw new CocoError('InvalidArgument', `ethereum block gas limit must be an integer from 21000 to 2^63 - 1, got ${String(full.blockGasLimit)}`);
    }
    if (!(full.coinbase instanceof Uint8Array) || full.coinbase.length !== ADDRESS_BYTES) {
      throw new CocoError('InvalidArgument', 'the ethereum coinbase must be a 20-byte address');
    }
    if (typeof full.clock !== 'function') throw new CocoError('InvalidArgument', 'ethereum execution needs a clock (seconds since the epoch)');
    const common = createChainCommon(full.chainId);
    const maps = ethereumMaps(full.publicState);
    const blocks = new Blocks(maps, full.chainId);
    const state = new KvStateManager(blocks);
    const blockHashes = new BlockHashes(blocks);
    // The VM adds its parameters to the Common it gets: give it its own.
    const vmCommon = common.copy();
    const { timeLimit } = full;
    let budget: ExecutionBudget | undefined;
    const clock = timeLimit === undefined ? undefined : { ensure: (estimateMs: number) => budget?.ensure(estimateMs), outside: <T>(work: () => Promise<T>) => (budget === undefined ? work() : budget.outside(work)) };
    const customPrecompiles = [...(clock === undefined ? [] : timedPrecompiles(vmCommon, clock.ensure)), ...kzgPointEvaluation(vmCommon, clock)];
    await installCodeAnalysisCache();
    const vm = await createVM({ common: vmCommon, stateManager: state, blockchain: blockHashes, evmOpts: { customPrecompiles } });
    keepEipAnswers(vm.common);
    // After keepEipAnswers: the budget counts the questions its cache answers too.
    if (timeLimit !== undefined) budget = new ExecutionBudget(vm.common, timeLimit.monotonicMs, timeLimit.maxExecutionMs);
    return new ExecutionContext(full, common, { vm, state, blockHashes, blocks, budget });
  }

  /** The highest gas limit a transaction may have: the block gas limit, within Osaka's per-transaction cap. */
  get txGasLimitMax(): bigint {
    const cap = this.#vm.common.param('maxTransactionGasLimit');
    return cap < this.blockGasLimit ? cap : this.blockGasLimit;
  }

  /** A time limit for several runs to share (see ExecutionBudget); unlimited without one. */
  timeAllowance(): TimeAllowance {
    return this.#budget?.allowance() ?? { remainingMs: Infinity };
  }

  /**
   * Runs `work` with the VM reading and writing through `kvTx`, in block `at` (a call at an existing
   * block) or by default in the block that would come next, after any run in progress. Nothing
   * reaches `kvTx` unless `work` calls `run.state.flush()`. The run is stopped past the time limit,
   * or past what is left of `allowance`.
   */
  async run<T>(kvTx: Transaction, work: (run: Run) => Promise<T>, allowance?: TimeAllowance, at?: ExecutionBlock): Promise<T> {
    return this.#runs.run(async () => {
      try {
        this.#blockHashes.tx = kvTx;
        const block = at ?? this.blocks.pending(kvTx, this.#clock());
        this.#state.bind(kvTx, block.number);
        const header = this.#block.header as { -readonly [field in keyof BlockHeader]: BlockHeader[field] };
        header.number = block.number;
        header.parentHash = block.parentHash;
        header.timestamp = block.timestamp;
        const run = { vm: this.#vm, state: this.#state, at: block, block: this.#block };
        return await (this.#budget === undefined ? work(run) : this.#budget.within(() => work(run), allowance));
      } finally {
        this.#state.release();
        this.#blockHashes.tx = undefined;
      }
    });
  }
}
