// Answers of `/node` endpoints that a node gives whether or not it is part of the network yet: a
// pending joiner serves them too (pending-endpoints.ts), in the same shapes.

import { parseVirtualQuote, type QuoteInfo } from '../attestation/virtual-attestation.js';

/** CCF's node states this node reports: joining (until members trust it), recovering a service (until it opens), or serving. */
export type NodeState = 'Pending' | 'PartOfPublicNetwork' | 'PartOfNetwork';

export function nodeStateView(nodeId: string, state: NodeState, lastSignedSeqno: number, startupSeqno: number, stopNotice = false): Record<string, unknown> {
  return { node_id: nodeId, state, last_signed_seqno: lastSignedSeqno, startup_seqno: startupSeqno, stop_notice: stopNotice };
}

export function versionView(version: string): Record<string, unknown> {
  return { ccf_version: `coco-${version}`, quickjs_version: 'quickjs-emscripten', unsafe: false };
}

/** A node's attestation as `/node/quotes` lists it. */
export function quoteView(nodeId: string, quote: QuoteInfo): Record<string, unknown> {
  return { node_id: nodeId, raw: quote.quote, endorsements: quote.endorsements, format: quote.format, measurement: parseVirtualQuote(quote).measurement };
}
