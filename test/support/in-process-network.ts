// Several real Nodes in this process, over temporary ledger directories, joined by a loopback
// transport that encodes every consensus message with the channel codec and can cut links. Node
// 0 starts the service; the others are added the way a join records them (Trusted in the nodes
// table, with an endorsed certificate), so consensus reconfigures through the log.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/channels/raft-message-codec.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { randomBytes } from '../../src/crypto/random.js';
import { encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { LedgerSecrets, type LedgerSecret } from '../../src/ledger/ledger-secrets.js';
import type { KeyPair } from '../../src/crypto/signing.js';
import { rsaKeyPair } from './rsa-key-pair.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';
import { Node, type NodeStart } from '../../src/node/node.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';

export interface NetworkNode {
  node: Node;
  name: string;
  ledgerDirectory: string;
  /** What a join records for the node. */
  info: NodeInfo;
  endorsedCertPem: string;
  /** The RSA key pair rekeys send it new ledger secrets with (networks made with `encryptionKeys`). */
  encryptionKeyPair: KeyPair | undefined;
  /** What the node last asked to keep of its ledger secrets, each time they changed. */
  readonly persistedSecrets: (readonly LedgerSecret[])[];
  /** What the node last asked its transport to stay connected to (node ID -> address). */
  readonly peers: ReadonlyMap<string, string>;
}

const SANS = { ip: ['127.0.0.1'] };

export interface NetworkOptions {
  signatureTxCount?: number;
  snapshotTxCount?: number;
  /** Gives every node an RSA encryption key, published in its record, so that rekeys reach it. */
  encryptionKeys?: boolean;
  /** Committed entries each node's consensus keeps in memory (consensus' default if absent). */
  retainedEntries?: number;
  /** Bytes of uncommitted entries past which each node refuses writes (the node's default if absent). */
  maxUncommittedBytes?: number;
  /** Keeps a node's ledger secrets as a node process seals them (only recorded in persistedSecrets if absent). */
  sealLedgerSecrets?: (node: NetworkNode, secrets: readonly LedgerSecret[]) => void;
}

export class InProcessNetwork {
  readonly nodes: NetworkNode[] = [];
  readonly service: ServiceIdentity;
  private readonly dir = mkdtempSync(join(tmpdir(), 'coco-network-'));
  readonly ledgerKey = randomBytes(32);
  /** Links that drop messages, as "from>to" node names. */
  private readonly cut = new Set<string>();

  private readonly signatureTxCount: number;
  private readonly snapshotTxCount: number;
  private readonly encryptionKeys: boolean;
  private readonly retainedEntries: number | undefined;
  private readonly maxUncommittedBytes: number | undefined;
  private readonly sealLedgerSecrets: NetworkOptions['sealLedgerSecrets'];

  private constructor(options: NetworkOptions) {
    this.service = createServiceIdentity(new Date(), 1);
    this.signatureTxCount = options.signatureTxCount ?? 10;
    this.snapshotTxCount = options.snapshotTxCount ?? 10_000;
    this.encryptionKeys = options.encryptionKeys ?? false;
    this.retainedEntries = options.retainedEntries;
    this.maxUncommittedBytes = options.maxUncommittedBytes;
    this.sealLedgerSecrets = options.sealLedgerSecrets;
  }

  /** The ledger secrets a new node gets: the primary's, as a join answer carries them. */
  private joinerSecrets(): LedgerSecrets {
    const primary = this.nodes.find((n) => n.node.isPrimary);
    return new LedgerSecrets(primary?.node.options.ledgerSecrets.all() ?? [{ fromSeqno: 1, key: this.ledgerKey }]);
  }

  /** A node not yet recorded by the primary; `knownPeers` as a join response gives them. */
  create(name: string, start: NodeStart, knownPeers?: ReadonlyMap<string, string>, secrets = this.joinerSecrets()): NetworkNode {
    const identity = createNodeIdentity(SANS, new Date(), 1);
    const ledgerDirectory = join(this.dir, name, 'ledger');
    const encryptionKeyPair = this.encryptionKeys ? rsaKeyPair() : undefined;
    const persistedSecrets: (readonly LedgerSecret[])[] = [];
    const info: NodeInfo = {
      status: 'Trusted',
      node_data: {},
      public_key: identity.keyPair.publicKeyPem,
      ...(encryptionKeyPair && { encryption_pub_key: encryptionKeyPair.publicKeyPem }),
      quote_info: virtualQuote(identity.keyPair.publicKeyPem, new Uint8Array(32)),
      rpc_interfaces: {},
      node_to_node_interface: { bind_address: name },
    };
    const endorsed = endorseNode(identity, this.service, SANS, new Date(), 1);
    const transportPeers: { current: ReadonlyMap<string, string> } = { current: new Map() };
    const node = new Node({
      node: identity,
      service: this.service,
      endorsedNodeCertPem: endorsed,
      nodeInfo: info,
      ledgerDirectory,
      consensusStateFile: join(this.dir, name, 'consensus_state.json'),
      ledgerChunkBytes: 4096,
      signatureTxCount: this.signatureTxCount,
      signatureDelayMs: 1,
      maxUncommittedTxCount: 5000,
      ...(this.maxUncommittedBytes !== undefined && { maxUncommittedBytes: this.maxUncommittedBytes }),
      consensus: { tickMs: 5, heartbeatTicks: 2, electionTimeoutTicks: 20, ...(this.retainedEntries !== undefined && { retainedEntries: this.retainedEntries }) },
      transport: {
        send: (message) => {
          const bytes = encodeRaftMessage(message);
          const to = this.nodes.find((n) => n.node.nodeId === message.to);
          if (to === undefined || this.cut.has(`${name}>${to.name}`)) return;
          setImmediate(() => to.node.receive(decodeRaftMessage(bytes)));
        },
        setPeers: (peers) => {
          transportPeers.current = peers;
        },
      },
      nowMs: () => Date.now(),
      ledgerSecrets: secrets,
      ...(encryptionKeyPair && { encryptionKeyPair }),
      persistLedgerSecrets: (all) => {
        persistedSecrets.push(all);
        this.sealLedgerSecrets?.(member, all);
      },
      start,
      snapshots: { directory: join(this.dir, name, 'snapshots'), txCount: this.snapshotTxCount },
      ...(knownPeers !== undefined && { knownPeerAddresses: knownPeers }),
    });
    const member: NetworkNode = {
      node,
      name,
      ledgerDirectory,
      info,
      endorsedCertPem: endorsed,
      encryptionKeyPair,
      persistedSecrets,
      get peers() {
        return transportPeers.current;
      },
    };
    this.nodes.push(member);
    return member;
  }

  /** Node 0 starts the service; each other node is recorded Trusted by the primary, as a join does. */
  static async start(count: number, options: NetworkOptions = {}): Promise<InProcessNetwork> {
    const network = new InProcessNetwork(options);
    const first = network.create('n0', { kind: 'start' });
    first.node.genesis({ members: [], constitution: 'export function validate() {}', recoveryThreshold: 0, serviceData: {} });
    for (let i = 1; i < count; i++) await network.join();
    return network;
  }

  /**
   * Adds a node as a join does, with an empty ledger or from the latest committed snapshot in
   * `fromSnapshotOf`'s snapshot directory; resolves once it holds the join transaction.
   */
  async join(options: { fromSnapshotOf?: NetworkNode; withCommittedLedger?: boolean } = {}): Promise<NetworkNode> {
    const name = `n${this.nodes.length}`;
    let start: NodeStart = { kind: 'join' };
    const secrets = this.joinerSecrets();
    if (options.fromSnapshotOf !== undefined) {
      const snapshot = options.fromSnapshotOf.node.snapshots.loadLatest(this.service.certPem, secrets);
      if (snapshot === undefined) throw new Error(`${options.fromSnapshotOf.name} has no committed snapshot`);
      if (options.withCommittedLedger === true) {
        // As a node restarted from its own snapshot holds them: the committed chunks, before it and after.
        const directory = join(this.dir, name, 'ledger');
        mkdirSync(directory, { recursive: true });
        for (const file of listChunkFiles(options.fromSnapshotOf.ledgerDirectory)) {
          if (file.chunk.committed) copyFileSync(file.path, join(directory, file.name));
        }
      }
      start = { kind: 'resume', replayed: replayLedger(join(this.dir, name, 'ledger'), { nodeId: name, encryptionPrivateKeyPem: undefined, secrets }, this.service.certPem, snapshot) };
    }
    const joiner = this.create(name, start, undefined, secrets);
    const { txId } = this.primary().node.execute((tx) => {
      tx.map(Tables.nodesInfo).set(utf8(joiner.node.nodeId), encodeJson(joiner.info));
      tx.map(Tables.nodesEndorsedCertificates).set(utf8(joiner.node.nodeId), utf8(joiner.endorsedCertPem));
      return { result: undefined, applyWrites: true };
    });
    await this.waitFor(() => this.nodes.every((n) => n.node.commitTxId.seqno >= txId!.seqno));
    return joiner;
  }

  primary(): NetworkNode {
    const primaries = this.nodes.filter((n) => n.node.isPrimary);
    if (primaries.length !== 1) throw new Error(`${primaries.length} primaries`);
    return primaries[0]!;
  }

  /** Cuts (or restores) every link between `name` and the other nodes, both ways. */
  isolate(name: string, isolated = true): void {
    for (const other of this.nodes) {
      if (other.name === name) continue;
      for (const link of [`${name}>${other.name}`, `${other.name}>${name}`]) {
        if (isolated) this.cut.add(link);
        else this.cut.delete(link);
      }
    }
  }

  async waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    for (const { node } of this.nodes) await node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
