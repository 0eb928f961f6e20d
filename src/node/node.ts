// One Coco node: the store, the ledger it writes, signature transactions and commit. Handlers run
// one at a time inside one KV transaction each; a transaction that writes gets the next seqno and
// its entry is appended at once. Signatures follow every `tx_count` writes or `delay_ms`, whichever
// first; a transaction is Committed once a later signature is durable (fsync, batched). With one
// node that is the commit rule; replication adds "and acknowledged by a majority" to the same path.

import { CocoError, invariant } from '../errors.js';
import { decodeJson, encodeJson, Tables, type NodeInfo } from '../governance/builtin-tables.js';
import { utf8 } from '../crypto/bytes.js';
import type { ReplayedLedger, SignatureRecord } from './ledger-replay.js';
import type { Transaction } from '../kv/transaction.js';
import { Store } from '../kv/store.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import { LedgerWriter, type AppendResult } from '../ledger/ledger-writer.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { buildReceipt, buildSignatureReceipt, type Receipt } from '../ledger/receipt.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue, decodePrimarySignature, SIGNATURES_MAP, singletonWrite } from '../ledger/signature.js';
import { buildCoseReceipt } from '../ledger/cose-receipt.js';
import { writeGenesis, type GenesisMember } from './genesis.js';
import type { NodeIdentity, ServiceIdentity } from './identities.js';
import { LedgerFiles } from './ledger-files.js';
import { HistoricalStates } from './historical-states.js';
import { statusOf, type TxStatus } from '../consensus/tx-status.js';

/** CCF's first view: the genesis transaction is 2.1. */
export const INITIAL_VIEW = 2;
/** Signing may take at most a third of the node's time. */
const SIGNATURE_CPU_SHARE_INVERSE = 3;
const SIGNATURE_COST_SMOOTHING = 8;

export interface NodeOptions {
  node: NodeIdentity;
  service: ServiceIdentity;
  endorsedNodeCertPem: string;
  nodeInfo: NodeInfo;
  ledgerDirectory: string;
  ledgerChunkBytes: number;
  signatureTxCount: number;
  signatureDelayMs: number;
  nowMs: () => number;
  ledgerSecrets: LedgerSecrets;
  /** The state of an existing ledger this node continues (a restart); absent for a new service. */
  replayed?: ReplayedLedger;
}

export interface GenesisOptions {
  members: GenesisMember[];
  constitution: string;
  recoveryThreshold: number;
  serviceData: unknown;
}

export interface TransactionOutcome<R> {
  result: R;
  /** Whether to commit the transaction's writes (CCF: a 2xx response, or setApplyWrites). */
  applyWrites: boolean;
  claimsDigest?: Uint8Array | undefined;
}

export class Node {
  readonly store: Store;
  private readonly writer: LedgerWriter;
  private readonly files: LedgerFiles;
  private readonly view: number;
  /** The view in force from each seqno on; the last is the current view. */
  private readonly views: { view: number; fromSeqno: number }[];
  private lastSeqno = 0;
  private commitSeqno = 0;
  private writesSinceSignature = 0;
  private lastSignatureAtMs = 0;
  /** Moving average of the time a signature transaction takes to build. */
  private signatureCostMs = 0;
  private signatureTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private syncRequested = false;
  private stopped = false;
  private readonly commitWaiters: { seqno: number; resolve: () => void }[] = [];
  /** Per seqno (index seqno - 1): what a receipt for it reveals besides the commit evidence. */
  private readonly leafComponents: { writeSetDigest: Uint8Array; claimsDigest: Uint8Array }[] = [];
  /** Signature transactions, in seqno order, with the node signature over the root they sign. */
  private readonly signatures: SignatureRecord[] = [];

  readonly historical: HistoricalStates;

  constructor(readonly options: NodeOptions) {
    this.files = new LedgerFiles(options.ledgerDirectory);
    const secrets = options.ledgerSecrets;
    const replayed = options.replayed;
    this.store = replayed?.store ?? new Store();
    // A restarted node is a new primary: its transactions start a new view.
    this.view = replayed === undefined ? INITIAL_VIEW : replayed.lastTxId.view + 1;
    this.views = [...(replayed?.views ?? []), { view: this.view, fromSeqno: (replayed?.lastTxId.seqno ?? 0) + 1 }];
    if (replayed !== undefined) {
      this.files.resume(replayed.chunks, replayed.lastTxId.seqno);
      this.lastSeqno = replayed.lastTxId.seqno;
      this.commitSeqno = replayed.lastTxId.seqno;
      this.leafComponents.push(...replayed.leafComponents);
      this.signatures.push(...replayed.signatures);
    }
    this.historical = new HistoricalStates({
      readEntry: (seqno) => this.files.readEntry(seqno),
      signedLeaf: (seqno) => this.writer.tree.leaf(seqno),
      ledgerSecretFor: (seqno) => secrets.keyFor(seqno),
      receipt: (txId) => this.receipt(txId),
    });
    this.writer = new LedgerWriter({
      view: this.view,
      secrets,
      identity: {
        nodePrivateKeyPem: options.node.keyPair.privateKeyPem,
        nodeCertPem: options.endorsedNodeCertPem,
        servicePrivateKeyPem: options.service.keyPair.privateKeyPem,
        serviceCertPem: options.service.certPem,
      },
      chunkBytesTarget: options.ledgerChunkBytes,
      ...(replayed === undefined
        ? {}
        : { resume: { tree: replayed.tree, seqno: replayed.lastTxId.seqno, signatureSeqno: replayed.signatures.at(-1)?.seqno ?? 0 } }),
    });
  }

  /** Whether this node continues an existing ledger rather than starting a service. */
  get restarted(): boolean {
    return this.options.replayed !== undefined;
  }

  /**
   * After a restart: records this node (a new identity) as the service's Trusted node and retires
   * the nodes of the ledger, in one transaction, then signs it.
   */
  takeOver(): TxId {
    invariant(this.restarted, 'only a restarted node takes over');
    const { txId } = this.execute((tx) => {
      const nodes = tx.map(Tables.nodesInfo);
      const retired: [Uint8Array, NodeInfo][] = [];
      nodes.forEach((value, key) => {
        const info = decodeJson<NodeInfo>(value, Tables.nodesInfo);
        if (info.status !== 'Retired') retired.push([key, { ...info, status: 'Retired', retired_committed: true }]);
      });
      for (const [key, info] of retired) nodes.set(key, encodeJson(info));
      nodes.set(utf8(this.nodeId), encodeJson(this.options.nodeInfo));
      tx.map(Tables.nodesEndorsedCertificates).set(utf8(this.nodeId), utf8(this.options.endorsedNodeCertPem));
      return { result: undefined, applyWrites: true };
    });
    this.emitSignature();
    return txId!;
  }

  get nodeId(): string {
    return this.options.node.nodeId;
  }

  /** Writes the genesis transaction and signs it at once, as CCF does. */
  genesis(options: GenesisOptions): TxId {
    invariant(this.lastSeqno === 0, 'genesis is the first transaction');
    const txId = { view: this.view, seqno: 1 };
    const { txId: written } = this.execute((tx) => {
      writeGenesis(tx, {
        txId,
        serviceCertPem: this.options.service.certPem,
        serviceData: options.serviceData,
        recoveryThreshold: options.recoveryThreshold,
        members: options.members,
        constitution: options.constitution,
        nodeId: this.nodeId,
        nodeInfo: this.options.nodeInfo,
        endorsedNodeCertPem: this.options.endorsedNodeCertPem,
      });
      return { result: undefined, applyWrites: true };
    });
    this.emitSignature();
    return written!;
  }

  /**
   * Runs `handler` in one transaction. Its writes are committed, at the next seqno, only if it asks
   * to apply them; a read-only or discarded transaction gets no seqno and reports the last TxID.
   */
  execute<R>(handler: (tx: Transaction) => TransactionOutcome<R>): { result: R; txId: TxId | undefined } {
    if (this.stopped) throw new CocoError('NodeCannotHandleRequest', 'the node is stopping');
    const tx = this.store.beginTransaction();
    let outcome: TransactionOutcome<R>;
    try {
      outcome = handler(tx);
    } catch (error) {
      tx.abort();
      throw error;
    }
    if (!outcome.applyWrites || !tx.hasWrites) {
      tx.abort();
      return { result: outcome.result, txId: undefined };
    }
    const seqno = this.lastSeqno + 1;
    const writeSet = this.store.commit(tx, BigInt(seqno));
    this.record(this.writer.appendTransaction(writeSet, outcome.claimsDigest));
    this.writesSinceSignature += 1;
    this.scheduleSignature();
    return { result: outcome.result, txId: { view: this.view, seqno } };
  }

  private record(result: AppendResult): void {
    invariant(result.txId.seqno === this.lastSeqno + 1, 'seqnos are contiguous');
    this.files.append(result);
    this.lastSeqno = result.txId.seqno;
    this.leafComponents.push({ writeSetDigest: result.writeSetDigest, claimsDigest: result.claimsDigest });
  }

  private scheduleSignature(): void {
    if (this.writesSinceSignature >= this.options.signatureTxCount) {
      this.emitSignature();
    } else if (this.signatureTimer === undefined) {
      // Signatures are spaced so that signing takes at most 1/SIGNATURE_CPU_SHARE_INVERSE of the
      // time: idle, a write commits a few ms later; under load, each signature covers more writes.
      const spacingMs = Math.max(this.options.signatureDelayMs, this.signatureCostMs * SIGNATURE_CPU_SHARE_INVERSE);
      const delayMs = Math.max(this.options.signatureDelayMs, this.lastSignatureAtMs + spacingMs - this.options.nowMs());
      this.signatureTimer = setTimeout(() => this.emitSignature(), delayMs);
    }
  }

  private emitSignature(): void {
    if (this.signatureTimer !== undefined) clearTimeout(this.signatureTimer);
    this.signatureTimer = undefined;
    if (this.stopped || this.lastSeqno === this.writer.lastSignatureSeqno) return;
    const startMs = this.options.nowMs();
    const root = this.writer.tree.root();
    const result = this.writer.appendSignature(Math.floor(startMs / 1000));
    this.store.applyWriteSet(result.writeSet, BigInt(result.txId.seqno));
    this.record(result);
    const signature = decodePrimarySignature(singletonWrite(result.writeSet.public, SIGNATURES_MAP)!);
    const cose = singletonWrite(result.writeSet.public, COSE_SIGNATURES_MAP);
    this.signatures.push({
      seqno: result.txId.seqno,
      nodeId: this.nodeId,
      certPem: this.options.endorsedNodeCertPem,
      signatureDer: signature.signatureDer,
      root,
      cose: cose && decodeCoseSignatureValue(cose),
    });
    this.lastSignatureAtMs = this.options.nowMs();
    this.signatureCostMs += (this.lastSignatureAtMs - startMs - this.signatureCostMs) / SIGNATURE_COST_SMOOTHING;
    this.writesSinceSignature = 0;
    this.requestSync();
  }

  /** Group commit: one fsync at a time covers every signature appended before it started. */
  private requestSync(): void {
    if (this.syncing) {
      this.syncRequested = true;
      return;
    }
    this.syncing = true;
    const target = this.writer.lastSignatureSeqno;
    this.files.sync().then(
      () => {
        this.syncing = false;
        this.advanceCommit(target);
        if (this.syncRequested) {
          this.syncRequested = false;
          this.requestSync();
        }
      },
      (error: unknown) => {
        // A ledger that cannot be made durable must not report commits: stop serving writes.
        this.stopped = true;
        console.error(`coco node: fsync of the ledger failed, no further transactions will commit: ${(error as Error).message}`);
      },
    );
  }

  private advanceCommit(seqno: number): void {
    if (seqno <= this.commitSeqno) return;
    this.commitSeqno = seqno;
    this.files.markCommitted(seqno);
    for (let i = this.commitWaiters.length - 1; i >= 0; i--) {
      const waiter = this.commitWaiters[i]!;
      if (waiter.seqno <= seqno) {
        this.commitWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Resolves once `seqno` is committed. */
  waitForCommit(seqno: number): Promise<void> {
    if (seqno <= this.commitSeqno) return Promise.resolve();
    return new Promise((resolve) => this.commitWaiters.push({ seqno, resolve }));
  }

  /** The view of a seqno this node holds. */
  viewOf(seqno: number): number {
    for (let i = this.views.length - 1; i >= 0; i--) if (this.views[i]!.fromSeqno <= seqno) return this.views[i]!.view;
    return this.view;
  }

  get lastTxId(): TxId {
    return { view: this.view, seqno: this.lastSeqno };
  }

  get commitTxId(): TxId {
    return { view: this.view, seqno: this.commitSeqno };
  }

  /** Governance's `trigger_ledger_chunk`: the next signature closes the chunk. */
  requestLedgerChunk(): void {
    this.writer.requestChunk();
  }

  /** The Merkle root over every transaction so far: what a transaction reading now reads. */
  merkleRoot(): Uint8Array {
    return this.writer.tree.root();
  }

  get lastSignatureSeqno(): number {
    return this.writer.lastSignatureSeqno;
  }

  status(txId: TxId): TxStatus {
    return statusOf(txId, {
      viewOf: (seqno) => (seqno >= 1 && seqno <= this.lastSeqno ? this.viewOf(seqno) : seqno === 0 ? 0 : undefined),
      commitSeqno: this.commitSeqno,
    });
  }

  /** The signature covering a committed transaction and, unless it is that signature, its proof material. */
  private coverage(txId: TxId) {
    const status = this.status(txId);
    if (status === 'Invalid') throw new CocoError('TransactionInvalid', `transaction ${formatTxId(txId)} is invalid: it was not committed and never will be`);
    if (status !== 'Committed') throw new CocoError('TransactionPendingOrUnknown', `transaction ${formatTxId(txId)} is ${status}; a receipt exists once it is Committed`);
    const signature = this.signatureAtOrAfter(txId.seqno);
    invariant(signature !== undefined, 'a committed transaction is covered by a signature');
    if (signature.seqno === txId.seqno) return { signature, leaf: undefined };
    const leaf = this.leafComponents[txId.seqno - 1]!;
    return {
      signature,
      leaf: {
        proof: this.writer.tree.proofAt(txId.seqno, signature.seqno),
        writeSetDigest: leaf.writeSetDigest,
        commitEvidence: this.writer.commitEvidenceFor(txId),
        claimsDigest: leaf.claimsDigest,
      },
    };
  }

  /**
   * The receipt of a committed transaction: its Merkle proof up to the first signature after it,
   * that signature, and the leaf components; for a signature transaction, the root it signed.
   */
  receipt(txId: TxId): Receipt {
    const { signature, leaf } = this.coverage(txId);
    const signer = { nodeId: signature.nodeId, certPem: signature.certPem, signatureDer: signature.signatureDer };
    return leaf === undefined ? buildSignatureReceipt({ ...signer, root: signature.root }) : buildReceipt({ ...signer, ...leaf });
  }

  /** The COSE receipt (CCF 6) of a committed application transaction. */
  coseReceipt(txId: TxId): Uint8Array {
    const { signature, leaf } = this.coverage(txId);
    if (leaf === undefined || signature.cose === undefined) {
      throw new CocoError('ResourceNotFound', `transaction ${formatTxId(txId)} has no COSE receipt: signature transactions have JSON receipts only`);
    }
    return buildCoseReceipt({ signatureCose: signature.cose, ...leaf });
  }

  private signatureAtOrAfter(seqno: number): SignatureRecord | undefined {
    let low = 0;
    let high = this.signatures.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.signatures[middle]!.seqno < seqno) low = middle + 1;
      else high = middle;
    }
    return this.signatures[low];
  }

  async stop(): Promise<void> {
    if (!this.stopped) this.emitSignature();
    this.stopped = true;
    if (this.signatureTimer !== undefined) clearTimeout(this.signatureTimer);
    while (this.syncing) await new Promise((resolve) => setTimeout(resolve, 1));
    this.files.close();
  }
}
