// Builds a ledger with Coco's own writer, as a real service would lay it out: a genesis
// transaction recording the service identity and the node, application transactions with public
// and private writes, and signature transactions. Used by tests and by the ledger benchmark.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utf8 } from '../../src/crypto/bytes.js';
import { randomBytes } from '../../src/crypto/random.js';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { generateKeyPair, type KeyPair } from '../../src/crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate } from '../../src/crypto/x509.js';
import type { WriteSet } from '../../src/kv/write-set.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { ChunkAssembler, type ChunkOutput } from '../../src/ledger/chunk-assembler.js';
import { LedgerWriter } from '../../src/ledger/ledger-writer.js';
import { SINGLETON_KEY } from '../../src/ledger/signature.js';

export interface ServiceIdentity {
  serviceKey: KeyPair;
  serviceCertPem: string;
  nodeKey: KeyPair;
  nodeCertPem: string;
  nodeId: string;
}

export function createServiceIdentity(validFrom = new Date()): ServiceIdentity {
  const serviceKey = generateKeyPair('P-384');
  const serviceCertPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: serviceKey, validFrom, validityDays: 1, isCa: true });
  const nodeKey = generateKeyPair('P-384');
  const csrPem = createCsr({ subjectCn: 'CCF Node', keyPair: nodeKey });
  const nodeCertPem = issueCertificate({ csrPem, issuerCertPem: serviceCertPem, issuerKeyPair: serviceKey, validFrom, validityDays: 1, isCa: false });
  return { serviceKey, serviceCertPem, nodeKey, nodeCertPem, nodeId: publicKeyId(nodeCertPem) };
}

export interface GeneratedLedgerOptions {
  /** Application transactions after genesis. */
  transactions: number;
  signatureInterval: number;
  chunkBytesTarget?: number;
  /** Bytes of each private value (0: public writes only). */
  privateValueBytes?: number;
  identity?: ServiceIdentity;
  ledgerSecret?: Uint8Array;
  /** Leave this many transactions after the last signature (an in-progress chunk). */
  unsignedTail?: number;
  /** The issuer and subject of the COSE signatures (CCF's `cose_signatures`). */
  signatureClaims?: { issuer: string; subject: string };
}

export interface GeneratedLedger {
  chunks: ChunkOutput[];
  identity: ServiceIdentity;
  ledgerSecret: Uint8Array;
  /** Commit evidence of every transaction, by seqno. */
  commitEvidence: Map<number, string>;
  writer: LedgerWriter;
}

function writeSet(publicWrites: [string, Uint8Array, Uint8Array][], privateWrites: [string, Uint8Array, Uint8Array][]): WriteSet {
  const toMaps = (writes: [string, Uint8Array, Uint8Array][]) =>
    writes.map(([name, key, value]) => ({ name, readVersion: 0n, reads: [], writes: [{ key, value }], removes: [] }));
  return { public: toMaps(publicWrites), private: toMaps(privateWrites) };
}

export function generateLedger(options: GeneratedLedgerOptions): GeneratedLedger {
  const identity = options.identity ?? createServiceIdentity();
  const ledgerSecret = options.ledgerSecret ?? randomBytes(32);
  const writer = new LedgerWriter({
    view: 2,
    secrets: new LedgerSecrets([{ fromSeqno: 1, key: ledgerSecret }]),
    identity: {
      nodePrivateKeyPem: identity.nodeKey.privateKeyPem,
      nodeCertPem: identity.nodeCertPem,
      servicePrivateKeyPem: identity.serviceKey.privateKeyPem,
      serviceCertPem: identity.serviceCertPem,
    },
    ...(options.chunkBytesTarget === undefined ? {} : { chunkBytesTarget: options.chunkBytesTarget }),
    ...(options.signatureClaims && { signatureClaims: () => options.signatureClaims! }),
  });
  const commitEvidence = new Map<number, string>();
  const assembler = new ChunkAssembler();
  const serviceInfo = utf8(JSON.stringify({ cert: identity.serviceCertPem, status: 'Open', recovery_count: 0, service_data: {} }));
  const nodeInfo = utf8(JSON.stringify({ status: 'Trusted', node_data: {} }));
  const genesis = writer.appendTransaction(
    writeSet([['public:ccf.gov.service.info', SINGLETON_KEY, serviceInfo], ['public:ccf.gov.nodes.info', utf8(identity.nodeId), nodeInfo]], []),
  );
  commitEvidence.set(genesis.txId.seqno, genesis.commitEvidence);
  assembler.add(genesis);
  let timestamp = 1_700_000_000;
  const sign = () => {
    const result = writer.appendSignature(timestamp++);
    commitEvidence.set(result.txId.seqno, result.commitEvidence);
    assembler.add(result);
  };
  sign();
  const privateBytes = options.privateValueBytes ?? 0;
  for (let i = 0; i < options.transactions; i++) {
    const key = utf8(String(i));
    const result = writer.appendTransaction(
      writeSet(
        [['public:records', key, utf8(`public message ${i}`)]],
        privateBytes > 0 ? [['records', key, randomBytes(privateBytes)]] : [],
      ),
    );
    commitEvidence.set(result.txId.seqno, result.commitEvidence);
    assembler.add(result);
    const remaining = options.transactions - i - 1;
    if ((i + 1) % options.signatureInterval === 0 && remaining >= (options.unsignedTail ?? 0)) sign();
  }
  if (!options.unsignedTail && writer.lastTxId.seqno !== writer.lastSignatureSeqno) sign();
  return { chunks: assembler.chunks(), identity, ledgerSecret, commitEvidence, writer };
}


export function writeChunks(directory: string, chunks: readonly ChunkOutput[]): void {
  mkdirSync(directory, { recursive: true });
  for (const chunk of chunks) writeFileSync(join(directory, chunk.name), chunk.bytes);
}
