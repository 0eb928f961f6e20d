// Certificates renewed by governance: `set_node_certificate_validity` and
// `set_all_nodes_certificate_validity` write a node's new endorsed certificate to
// `public:ccf.gov.nodes.endorsed_certificates`; once that write is committed, the node serves it,
// on its client interfaces and to other nodes, as CCF's nodes do.

import { X509Certificate } from 'node:crypto';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { Tables } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import type { Node } from './node.js';

/** A committed renewal: served now, or, with the reason, not (yet). */
export type Renewal = { certPem: string; notServed?: undefined } | { certPem: string; notServed: string };

/**
 * The endorsed certificate of `node` that members recorded after seqno `sinceSeqno` (where the node
 * started), once committed, when it is not `servedCertPem` yet. It is served when it is this node's
 * key's, endorsed by the service's, and in date; otherwise `notServed` says why (one whose period
 * has not begun is served from its start: serving it earlier breaks new connections). Undefined when
 * there is nothing new. An earlier record is not taken: a node restarted issues itself a new
 * certificate, which an older record (maybe soon to expire) must not replace.
 */
export function renewedCertificate(node: Node, servedCertPem: string, sinceSeqno: number, nowMs = Date.now()): Renewal | undefined {
  const nodeId = node.nodeId;
  const { pem, version } = node.execute((tx) => {
    const map = tx.map(Tables.nodesEndorsedCertificates);
    const value = map.get(utf8(nodeId));
    return { result: { pem: value === undefined ? undefined : fromUtf8(value), version: map.getVersionOfPreviousWrite(utf8(nodeId)) }, applyWrites: false };
  }).result;
  if (pem === undefined || pem === servedCertPem || version === undefined) return undefined;
  if (version <= BigInt(sinceSeqno) || version > BigInt(node.commitTxId.seqno)) return undefined;
  const why = whyNotServed(pem, nodeId, node.options.service.certPem, nowMs);
  return why === undefined ? { certPem: pem } : { certPem: pem, notServed: `the node certificate members renewed at seqno ${version} is not served: ${why}` };
}

/**
 * The service-endorsed certificate recorded for `nodeId` in the ledger `tx` reads (a node resuming
 * from its ledger), when this node can serve it now; undefined otherwise.
 */
export function recordedCertificate(tx: Transaction, nodeId: string, serviceCertPem: string, nowMs = Date.now()): string | undefined {
  const value = tx.map(Tables.nodesEndorsedCertificates).get(utf8(nodeId));
  if (value === undefined) return undefined;
  const pem = fromUtf8(value);
  return whyNotServed(pem, nodeId, serviceCertPem, nowMs) === undefined ? pem : undefined;
}

/** Why node `nodeId` cannot serve `pem` now; undefined when it can. */
function whyNotServed(pem: string, nodeId: string, serviceCertPem: string, nowMs: number): string | undefined {
  let renewed: X509Certificate;
  try {
    renewed = new X509Certificate(pem);
  } catch {
    return 'it is not a PEM certificate';
  }
  if (publicKeyId(pem) !== nodeId) return "it is not for this node's key";
  if (!renewed.verify(new X509Certificate(serviceCertPem).publicKey)) return "it is not endorsed by this service's key";
  if (Date.parse(renewed.validTo) <= nowMs) return `its validity period ended on ${renewed.validTo}; renew it again with a valid_from of now or later`;
  if (Date.parse(renewed.validFrom) > nowMs) return `it is valid only from ${renewed.validFrom}; the current one is served until then`;
  return undefined;
}
