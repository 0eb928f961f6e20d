// Ledger writers that share one service identity and ledger secret, as the nodes of one service
// do, and the write sets they append: a genesis transaction (what a verifier needs to trust the
// signatures) and small application transactions with public and private writes.

import { utf8 } from '../../src/crypto/bytes.js';
import type { WriteSet } from '../../src/kv/write-set.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { LedgerWriter, type LedgerWriterOptions } from '../../src/ledger/ledger-writer.js';
import { SINGLETON_KEY } from '../../src/ledger/signature.js';
import { createServiceIdentity } from '../support/generated-ledger.js';

export const identity = createServiceIdentity();
/** Two secrets, so that replicated entries are opened with the one for their seqno. */
export const SECRETS = [
  { fromSeqno: 1, key: new Uint8Array(32).fill(1) },
  { fromSeqno: 5, key: new Uint8Array(32).fill(2) },
];

export function makeWriter(options: Partial<LedgerWriterOptions> = {}): LedgerWriter {
  return new LedgerWriter({
    view: 2,
    secrets: new LedgerSecrets(SECRETS),
    identity: {
      nodePrivateKeyPem: identity.nodeKey.privateKeyPem,
      nodeCertPem: identity.nodeCertPem,
      servicePrivateKeyPem: identity.serviceKey.privateKeyPem,
      serviceCertPem: identity.serviceCertPem,
    },
    ...options,
  });
}

function singleWrite(name: string, key: Uint8Array, value: Uint8Array) {
  return { name, readVersion: 0n, reads: [], writes: [{ key, value }], removes: [] };
}

/** What a verifier needs at seqno 1: the service certificate and the trusted node. */
export function genesisWriteSet(): WriteSet {
  const serviceInfo = utf8(JSON.stringify({ cert: identity.serviceCertPem, status: 'Open', recovery_count: 0, service_data: {} }));
  const nodeInfo = utf8(JSON.stringify({ status: 'Trusted', node_data: {} }));
  return {
    public: [singleWrite('public:ccf.gov.nodes.info', utf8(identity.nodeId), nodeInfo), singleWrite('public:ccf.gov.service.info', SINGLETON_KEY, serviceInfo)],
    private: [],
  };
}

/** An application transaction: a public and a private write named by `label`. */
export function appWriteSet(label: string): WriteSet {
  return {
    public: [singleWrite('public:records', utf8(label), utf8(`public ${label}`))],
    private: [singleWrite('records', utf8(label), utf8(`private ${label}`))],
  };
}
