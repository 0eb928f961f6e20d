// Several real Nodes in this process, over temporary ledger directories, joined by a loopback
// transport that encodes every consensus message with the channel codec and can cut links. Node
// 0 starts the service; the others are added the way a join records them (Trusted in the nodes
// table, with an endorsed certificate), so consensus reconfigures through the log.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/channels/raft-message-codec.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { randomBytes } from '../../src/crypto/random.js';
import { encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';
import { Node, type NodeStart } from '../../src/node/node.js';

export interface NetworkNode {
  node: Node;
  name: string;
  ledgerDirectory: string;
  /** What a join records for the node. */
  info: NodeInfo;
  endorsedCertPem: string;
}

const SANS = { ip: ['127.0.0.1'] };

export class InProcessNetwork {
  readonly nodes: NetworkNode[] = [];
  readonly service: ServiceIdentity;
  private readonly dir = mkdtempSync(join(tmpdir(), 'coco-network-'));
  private readonly key = randomBytes(32);
  /** Links that drop messages, as "from>to" node names. */
  private readonly cut = new Set<string>();

  private readonly signatureTxCount: number;

  private constructor(options: { signatureTxCount?: number }) {
    this.service = createServiceIdentity(new Date(), 1);
    this.signatureTxCount = options.signatureTxCount ?? 10;
  }

  private create(name: string, start: NodeStart): NetworkNode {
    const identity = createNodeIdentity(SANS, new Date(), 1);
    const ledgerDirectory = join(this.dir, name, 'ledger');
    const info: NodeInfo = {
      status: 'Trusted',
      node_data: {},
      public_key: identity.keyPair.publicKeyPem,
      quote_info: virtualQuote(identity.keyPair.publicKeyPem, new Uint8Array(32)),
      rpc_interfaces: {},
      node_to_node_interface: { bind_address: name },
    };
    const endorsed = endorseNode(identity, this.service, SANS, new Date(), 1);
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
      consensus: { tickMs: 5, heartbeatTicks: 2, electionTimeoutTicks: 20 },
      transport: {
        send: (message) => {
          const bytes = encodeRaftMessage(message);
          const to = this.nodes.find((n) => n.node.nodeId === message.to);
          if (to === undefined || this.cut.has(`${name}>${to.name}`)) return;
          setImmediate(() => to.node.receive(decodeRaftMessage(bytes)));
        },
        setPeers: () => undefined,
      },
      nowMs: () => Date.now(),
      ledgerSecrets: new LedgerSecrets([{ fromSeqno: 1, key: this.key }]),
      start,
    });
    const member: NetworkNode = { node, name, ledgerDirectory, info, endorsedCertPem: endorsed };
    this.nodes.push(member);
    return member;
  }

  /** Node 0 starts the service; each other node is recorded Trusted by the primary, as a join does. */
  static async start(count: number, options: { signatureTxCount?: number } = {}): Promise<InProcessNetwork> {
    const network = new InProcessNetwork(options);
    const first = network.create('n0', { kind: 'start' });
    first.node.genesis({ members: [], constitution: 'export function validate() {}', recoveryThreshold: 0, serviceData: {} });
    for (let i = 1; i < count; i++) {
      const joiner = network.create(`n${i}`, { kind: 'join' });
      const { txId } = network.primary().node.execute((tx) => {
        tx.map(Tables.nodesInfo).set(utf8(joiner.node.nodeId), encodeJson(joiner.info));
        tx.map(Tables.nodesEndorsedCertificates).set(utf8(joiner.node.nodeId), utf8(joiner.endorsedCertPem));
        return { result: undefined, applyWrites: true };
      });
      await network.waitFor(() => network.nodes.every((n) => n.node.commitTxId.seqno >= txId!.seqno));
    }
    return network;
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
