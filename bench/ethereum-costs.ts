// What an ERC-20 transfer costs a Coco node, part by part, measured in one process without a network:
// the same pre-signed transfers the sandbox received, each sent through the JSON-RPC method layer
// (`handleJsonRpc` + `ethereumMethods`) over a store, a ledger writer and ledger files as a primary
// has them, its entry then applied as a backup applies it, and its receipt answered as the
// benchmark's receipt polls ask for it. The primary's state starts as the sandbox's did (the
// development accounts funded at genesis, then the benchmark's setup transactions, byte for byte).

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ethers } from 'ethers';
import type { TxStatus } from '../src/consensus/tx-status.js';
import { randomBytes } from '../src/crypto/random.js';
import { invariant } from '../src/errors.js';
import { setBalance } from '../src/ethereum/account-state.js';
import { devAccounts } from '../src/ethereum/dev-accounts.js';
import { ethereumMethods, type EthereumBackend } from '../src/ethereum/eth-methods.js';
import { ExecutionContext } from '../src/ethereum/execution-context.js';
import { handleJsonRpc, type JsonRpcMethods } from '../src/ethereum/json-rpc.js';
import { decodeRawTransaction, parseTransaction } from '../src/ethereum/sender.js';
import { Store } from '../src/kv/store.js';
import type { Transaction } from '../src/kv/transaction.js';
import { LedgerSecrets } from '../src/ledger/ledger-secrets.js';
import { LedgerWriter, type AppendResult, type SigningIdentity } from '../src/ledger/ledger-writer.js';
import { EcdsaNoncePool } from '../src/node/ecdsa-nonce-pool.js';
import type { TxId } from '../src/ledger/tx-id.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../src/node/identities.js';
import { LedgerFiles } from '../src/node/ledger-files.js';
import type { SignedQueue } from './json-rpc-load.js';

const VIEW = 2;
/** Entries written to the ledger file per batch: a node writes (and fsyncs) what accumulated meanwhile. */
const FILE_BATCH_ENTRIES = 32;
/** Receipts asked for per batch, about what the benchmark's polls ask for. */
const RECEIPT_BATCH = 64;

/** Microseconds per transfer, except `signatureUs` (per signature transaction). */
export interface PartCosts {
  transfers: number;
  /** Decoding without the sender: RLP and EthereumJS's transaction object. */
  parse: number;
  /** Sender recovery (libsecp256k1) and the transaction hash: decoding with the sender, less `parse`. */
  recovery: number;
  /** `executeTransaction` in its KV transaction: checks, the EVM (EthereumJS runTx), the records. */
  execution: number;
  /** `Store.commit`: conflict checks, applying the writes, the write set. */
  kvCommit: number;
  /** `LedgerWriter.appendTransaction`: encoding, AES-GCM sealing, commit evidence, Merkle leaf. */
  ledgerAppend: number;
  /** `LedgerFiles.append` and the batched write (the fsync runs off the event loop and is not counted). */
  ledgerFiles: number;
  /** The JSON-RPC layer of `eth_sendRawTransaction`: the whole call less every part above. */
  jsonRpc: number;
  /** Answering the transfer's `eth_getTransactionReceipt` in a batch, once Committed. */
  receipt: number;
  /**
   * One signature transaction on the event loop: tree root signed by the node, COSE-signed by the
   * service (both with nonces prepared on a worker thread, as a node signs), applied to the store.
   */
  signatureUs: number;
  /** The worker thread's share of one signature transaction: its two ECDSA nonces. */
  signatureWorkerUs: number;
  /** Signature transactions per transfer used here (the 3-node run's). */
  signaturesPerTransfer: number;
  /** One backup per transfer (its share of signature entries included): entry opened and checked, Merkle leaf, store, file. */
  backup: number;
}

function signingIdentity(): { primary: SigningIdentity; backup: SigningIdentity } {
  const now = new Date();
  const service = createServiceIdentity(now, 1);
  const node = () => {
    const identity = createNodeIdentity({ ip: ['127.0.0.1'] }, now, 1);
    return {
      nodePrivateKeyPem: identity.keyPair.privateKeyPem,
      nodeCertPem: endorseNode(identity, service, undefined, now, 1),
      servicePrivateKeyPem: service.keyPair.privateKeyPem,
      serviceCertPem: service.certPem,
    };
  };
  return { primary: node(), backup: node() };
}

interface Timings {
  execution: number;
  kvCommit: number;
  ledgerAppend: number;
  ledgerFiles: number;
  backup: number;
  signatures: number;
  signatureMs: number;
  signatureWorkerMs: number;
}

/** A primary and one backup in one process, timing each step a write goes through. */
class InProcessService implements EthereumBackend {
  readonly store = new Store();
  readonly #backupStore = new Store();
  readonly #writer: LedgerWriter;
  readonly #backupWriter: LedgerWriter;
  readonly #files: LedgerFiles;
  readonly #backupFiles: LedgerFiles;
  readonly #syncs: Promise<void>[] = [];
  readonly #nonces = new EcdsaNoncePool();
  timings: Timings = InProcessService.#zero();
  /** A signature transaction after this many writes (0: none). */
  signatureEvery = 0;
  #writesSinceSignature = 0;

  constructor(dir: string) {
    const secrets = new LedgerSecrets([{ fromSeqno: 1, key: randomBytes(32) }]);
    const identity = signingIdentity();
    this.#writer = new LedgerWriter({ view: VIEW, secrets, identity: identity.primary, nonces: (curve) => this.#nonces.take(curve) });
    this.#backupWriter = new LedgerWriter({ view: VIEW, secrets, identity: identity.backup });
    this.#files = new LedgerFiles(join(dir, 'primary'));
    this.#backupFiles = new LedgerFiles(join(dir, 'backup'));
  }

  static #zero(): Timings {
    return { execution: 0, kvCommit: 0, ledgerAppend: 0, ledgerFiles: 0, backup: 0, signatures: 0, signatureMs: 0, signatureWorkerMs: 0 };
  }

  resetTimings(): void {
    this.timings = InProcessService.#zero();
  }

  readTransaction(): Transaction {
    return this.store.beginTransaction();
  }

  async writeTransaction<T>(work: (tx: Transaction) => Promise<T>): Promise<{ result: T; txId: TxId }> {
    const t = this.timings;
    const tx = this.store.beginTransaction();
    const started = performance.now();
    let result: T;
    try {
      result = await work(tx);
    } catch (error) {
      tx.abort();
      throw error;
    }
    const executed = performance.now();
    const writeSet = this.store.commit(tx, this.store.version + 1n);
    const committed = performance.now();
    const appended = this.#writer.appendTransaction(writeSet);
    const sealed = performance.now();
    this.#record(appended, this.#files);
    const written = performance.now();
    this.#replicate(appended);
    const replicated = performance.now();
    t.execution += executed - started;
    t.kvCommit += committed - executed;
    t.ledgerAppend += sealed - committed;
    t.ledgerFiles += written - sealed;
    t.backup += replicated - written;
    if (this.signatureEvery > 0 && ++this.#writesSinceSignature >= this.signatureEvery) {
      this.#sign();
      // A node signs on a timer, so its event loop turns between signatures and the worker's nonces
      // arrive; this loop would otherwise never let them in.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { result, txId: appended.txId };
  }

  /** Every transaction here is final at once: receipts exist as soon as it is written. */
  commitSeqno(): bigint {
    return this.store.version;
  }

  txIdAt(seqno: bigint): TxId | undefined {
    return seqno >= 1n && seqno <= this.store.version ? { view: VIEW, seqno: Number(seqno) } : undefined;
  }

  /** Committed at once, as every transaction here. */
  async finality(): Promise<TxStatus> {
    return 'Committed';
  }

  /** Runs `work` in a transaction committed without timing (genesis). */
  writeUntimed(work: (tx: Transaction) => void): void {
    const tx = this.store.beginTransaction();
    work(tx);
    const appended = this.#writer.appendTransaction(this.store.commit(tx, this.store.version + 1n));
    this.#record(appended, this.#files);
    this.#replicate(appended);
  }

  #sign(): void {
    this.#writesSinceSignature = 0;
    const started = performance.now();
    const workerMsBefore = this.#nonces.handedOutMs;
    const signature = this.#writer.appendSignature(Math.floor(Date.now() / 1000));
    this.store.applyWriteSet(signature.writeSet, BigInt(signature.txId.seqno));
    this.timings.signatureMs += performance.now() - started;
    this.timings.signatureWorkerMs += this.#nonces.handedOutMs - workerMsBefore;
    this.timings.signatures++;
    this.#record(signature, this.#files);
    const replicating = performance.now();
    this.#replicate(signature);
    this.timings.backup += performance.now() - replicating;
  }

  #record(appended: AppendResult, files: LedgerFiles): void {
    files.append(appended);
    if (appended.txId.seqno % FILE_BATCH_ENTRIES === 0) this.#syncs.push(files.sync());
  }

  /** What a backup does with an entry it received: opens and checks it, extends its tree, applies it, writes it. */
  #replicate(appended: AppendResult): void {
    const replicated = this.#backupWriter.appendReplicated(appended.entry, appended.txId);
    this.#backupStore.applyWriteSet(replicated.writeSet, BigInt(appended.txId.seqno));
    this.#record(replicated, this.#backupFiles);
  }

  async close(): Promise<void> {
    await this.#nonces.close();
    await Promise.all(this.#syncs);
    this.#files.close();
    this.#backupFiles.close();
  }
}

async function call(methods: JsonRpcMethods, body: string): Promise<unknown> {
  const answer = JSON.parse((await handleJsonRpc(body, methods))!) as { result?: unknown; error?: { message: string } } | { result?: unknown; error?: { message: string } }[];
  for (const one of Array.isArray(answer) ? answer : [answer]) invariant(one.error === undefined, `in-process JSON-RPC failed: ${one.error?.message}`);
  return Array.isArray(answer) ? answer.map((one) => one.result) : answer.result;
}

const sendBody = (raw: string) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [raw] });

/**
 * Measures `transfers` of the ERC-20 transfers in `queues` (taken round-robin, in each sender's nonce
 * order, after `warmup` untimed ones) on a chain `chainId` set up by `setupRaws`, with a signature
 * transaction every 1/`signaturesPerTransfer` transfers. Ledger files go to `dir`.
 */
export async function measurePartCosts(options: {
  chainId: bigint;
  setupRaws: readonly string[];
  queues: readonly SignedQueue[];
  warmup: number;
  transfers: number;
  signaturesPerTransfer: number;
  dir: string;
}): Promise<PartCosts> {
  const { queues, warmup, transfers } = options;
  invariant((warmup + transfers) <= queues.length * Math.min(...queues.map((queue) => queue.raws.length)), 'the queues hold enough signed transfers');
  mkdirSync(options.dir, { recursive: true });
  const context = await ExecutionContext.create({ chainId: options.chainId, clock: () => Math.floor(Date.now() / 1000) });
  const service = new InProcessService(options.dir);
  try {
    const methods = ethereumMethods(service, context, { clientVersion: 'coco-bench' });
    service.writeUntimed((tx) => {
      for (const account of devAccounts()) setBalance(tx, context.maps, ethers.getBytes(account.address), account.balance);
    });
    for (const raw of options.setupRaws) await call(methods, sendBody(raw));
    const raws = Array.from({ length: warmup + transfers }, (_, i) => queues[i % queues.length]!.raws[Math.floor(i / queues.length)]!);
    const hashes = raws.map((raw) => ethers.keccak256(raw));
    /** Sends transfers `from` to `to` (excluded); the time spent in `handleJsonRpc`. */
    const send = async (from: number, to: number): Promise<number> => {
      let spent = 0;
      for (let i = from; i < to; i++) {
        const body = sendBody(raws[i]!);
        const started = performance.now();
        const answer = await handleJsonRpc(body, methods);
        spent += performance.now() - started;
        invariant(answer !== undefined && JSON.parse(answer).result === hashes[i], `in-process transfer ${i} was accepted: ${answer}`);
      }
      return spent;
    };
    await send(0, warmup);
    // Decoding on its own, over the same transfers: with and without the sender.
    const bytes = raws.slice(warmup).map((raw) => ethers.getBytes(raw));
    let started = performance.now();
    for (const raw of bytes) parseTransaction(raw, context.common);
    const parseMs = performance.now() - started;
    started = performance.now();
    for (const raw of bytes) decodeRawTransaction(raw, context.common);
    const decodeMs = performance.now() - started;

    service.resetTimings();
    service.signatureEvery = options.signaturesPerTransfer > 0 ? Math.max(1, Math.round(1 / options.signaturesPerTransfer)) : 0;
    const sendMs = await send(warmup, warmup + transfers);
    const t = service.timings;
    service.signatureEvery = 0;

    let receiptMs = 0;
    for (let i = warmup; i < warmup + transfers; i += RECEIPT_BATCH) {
      const batch = hashes.slice(i, Math.min(i + RECEIPT_BATCH, warmup + transfers));
      const body = JSON.stringify(batch.map((hash, j) => ({ jsonrpc: '2.0', id: j, method: 'eth_getTransactionReceipt', params: [hash] })));
      started = performance.now();
      const answer = await handleJsonRpc(body, methods);
      receiptMs += performance.now() - started;
      const receipts = JSON.parse(answer!) as { result?: { status: string } | null }[];
      invariant(receipts.length === batch.length && receipts.every((receipt) => receipt.result?.status === '0x1'), 'every in-process transfer succeeded');
    }

    const us = (ms: number) => (ms * 1000) / transfers;
    // The whole call holds decoding, execution, commit, ledger, files, the backup and signatures.
    const inside = decodeMs + t.execution + t.kvCommit + t.ledgerAppend + t.ledgerFiles + t.backup + t.signatureMs;
    return {
      transfers,
      parse: us(parseMs),
      recovery: us(decodeMs - parseMs),
      execution: us(t.execution),
      kvCommit: us(t.kvCommit),
      ledgerAppend: us(t.ledgerAppend),
      ledgerFiles: us(t.ledgerFiles),
      jsonRpc: us(Math.max(0, sendMs - inside)),
      receipt: us(receiptMs),
      signatureUs: t.signatures > 0 ? (t.signatureMs * 1000) / t.signatures : NaN,
      signatureWorkerUs: t.signatures > 0 ? (t.signatureWorkerMs * 1000) / t.signatures : NaN,
      signaturesPerTransfer: t.signatures / transfers,
      backup: us(t.backup),
    };
  } finally {
    await service.close();
  }
}
