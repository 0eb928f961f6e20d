// A real Node in this process over a temporary ledger directory, for tests of the node layer that
// need no network: genesis with one member, then transactions through `execute`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type KeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { Node } from '../../src/node/node.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { randomBytes } from '../../src/crypto/random.js';
import { sha256 } from '../../src/crypto/hash.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { rsaKeyPair } from './rsa-key-pair.js';

export interface InProcessNode {
  node: Node;
  dir: string;
  memberCertPem: string;
  memberKeyPem: string;
  /** member0's RSA encryption key pair, with `memberEncryptionKey`. */
  memberEncryptionKeyPair: KeyPair | undefined;
  close(): Promise<void>;
}

export interface InProcessNodeOptions {
  signatureTxCount?: number;
  signatureDelayMs?: number;
  constitution?: string;
  snapshotTxCount?: number;
  /** Gives the node an RSA encryption key (published in its record), so that it can rekey. */
  encryptionKey?: boolean;
  /** Gives member0 an RSA encryption key, as a recovery member has. */
  memberEncryptionKey?: boolean;
  /** Committed transactions whose receipts the node builds from memory (the node's default if absent). */
  receiptsInMemory?: number;
  /** What the historical states cache may keep alive (the node's default if absent). */
  historicalCacheSoftLimitBytes?: number;
  /** The time of day the node records in signatures (Date.now if absent); its timers run on performance.now. */
  wallClockMs?: () => number;
  /** Told when the node stops applying transactions (NodeOptions.onFailure). */
  onFailure?: (error: Error) => void;
  /** The start command's `cose_signatures` the genesis records (none if absent). */
  coseSignatures?: { issuer: string; subject: string };
}

export function startInProcessNode(options: InProcessNodeOptions = {}): InProcessNode {
  const dir = mkdtempSync(join(tmpdir(), 'coco-inproc-'));
  const now = new Date();
  const sans = { ip: ['127.0.0.1'] };
  const nodeIdentity = createNodeIdentity(sans, now, 1);
  const service = createServiceIdentity(now, 1);
  const member = generateKeyPair('P-384');
  const memberCertPem = createSelfSignedCertificate({ subjectCn: 'member0', keyPair: member, validFrom: now, validityDays: 1, isCa: false });
  const encryptionKeyPair = options.encryptionKey === true ? rsaKeyPair() : undefined;
  const memberEncryptionKeyPair = options.memberEncryptionKey === true ? rsaKeyPair() : undefined;
  const node = new Node({
    node: nodeIdentity,
    service,
    endorsedNodeCertPem: endorseNode(nodeIdentity, service, sans, now, 1),
    nodeInfo: {
      status: 'Trusted',
      node_data: {},
      public_key: nodeIdentity.keyPair.publicKeyPem,
      ...(encryptionKeyPair && { encryption_pub_key: encryptionKeyPair.publicKeyPem }),
      quote_info: virtualQuote(nodeIdentity.keyPair.publicKeyPem, sha256(utf8('test'))),
      rpc_interfaces: {},
    },
    ledgerDirectory: join(dir, 'ledger'),
    consensusStateFile: join(dir, 'consensus_state.json'),
    ledgerChunkBytes: 4096,
    signatureTxCount: options.signatureTxCount ?? 10,
    signatureDelayMs: options.signatureDelayMs ?? 1,
    maxUncommittedTxCount: 5000,
    // Alone in its configuration, the node never sends a consensus message.
    consensus: { tickMs: 20, heartbeatTicks: 5, electionTimeoutTicks: 50 },
    transport: { send: () => undefined, setPeers: () => undefined },
    nowMs: () => performance.now(),
    wallClockMs: options.wallClockMs ?? (() => Date.now()),
    ledgerSecrets: new LedgerSecrets([{ fromSeqno: 1, key: randomBytes(32) }]),
    ...(encryptionKeyPair && { encryptionKeyPair }),
    start: { kind: 'start' },
    snapshots: { directory: join(dir, 'snapshots'), txCount: options.snapshotTxCount ?? 10_000 },
    ...(options.receiptsInMemory !== undefined && { receiptsInMemory: options.receiptsInMemory }),
    ...(options.historicalCacheSoftLimitBytes !== undefined && { historicalCacheSoftLimitBytes: options.historicalCacheSoftLimitBytes }),
    ...(options.onFailure && { onFailure: options.onFailure }),
  });
  node.genesis({
    members: [{ certPem: memberCertPem, encryptionPublicKeyPem: memberEncryptionKeyPair?.publicKeyPem, memberData: undefined }],
    constitution: options.constitution ?? 'export function validate() { return { valid: true, description: "" }; }',
    recoveryThreshold: 0,
    serviceData: {},
    ...(options.coseSignatures && { coseSignatures: options.coseSignatures }),
  });
  return {
    node,
    dir,
    memberCertPem,
    memberKeyPem: member.privateKeyPem,
    memberEncryptionKeyPair,
    async close() {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
