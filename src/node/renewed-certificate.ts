// Certificates renewed by governance: `set_node_certificate_validity` and
// `set_all_nodes_certificate_validity` write a node's new endorsed certificate to
// `public:ccf.gov.nodes.endorsed_certificates`; once that write is committed, the node serves it,
// on its client interfaces and to other nodes, as CCF's nodes do.

import { X509Certificate } from 'node:crypto';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { Tables } from '../governance/builtin-tables.js';
import type { Node } from './node.js';

/**
 * The endorsed certificate of `node` that members recorded after seqno `sinceSeqno` (where the node
 * started), once committed, when it is not `servedCertPem` yet: this node's key, endorsed by the
 * service's, and not expired. Undefined otherwise. An earlier record is not taken: a node restarted
 * issues itself a new certificate, which an older record (maybe soon to expire) must not replace.
 */
export function renewedCertificate(node: Node, servedCertPem: string, sinceSeqno: number, nowMs = Date.now()): string | undefined {
  const nodeId = node.nodeId;
  const { pem, version } = node.execute((tx) => {
    const map = tx.map(Tables.nodesEndorsedCertificates);
    const value = map.get(utf8(nodeId));
    return { result: { pem: value === undefined ? undefined : fromUtf8(value), version: map.getVersionOfPreviousWrite(utf8(nodeId)) }, applyWrites: false };
  }).result;
  if (pem === undefined || pem === servedCertPem || version === undefined) return undefined;
  if (version <= BigInt(sinceSeqno) || version > BigInt(node.commitTxId.seqno)) return undefined;
  try {
    const renewed = new X509Certificate(pem);
    const serviceKey = new X509Certificate(node.options.service.certPem).publicKey;
    if (publicKeyId(pem) !== nodeId || !renewed.verify(serviceKey)) return undefined;
    return Date.parse(renewed.validTo) > nowMs ? pem : undefined;
  } catch {
    return undefined;
  }
}
