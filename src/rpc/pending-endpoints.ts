// What a joining node serves until the service trusts it: enough for an operator to see that it is
// Pending and which attestation it presented, as CCF's joiner does. Its TLS certificate is its own
// self-signed one (it has no endorsed certificate yet), and the application and governance
// frontends are not open (rpc-server.ts answers them 404 FrontendNotOpen, saying why).

import type { QuoteInfo } from '../attestation/virtual-attestation.js';
import { RpcError } from './rpc-error.js';
import type { RpcServer } from './rpc-server.js';
import { nodeStateView, quoteView, versionView } from './node-views.js';

export interface PendingNode {
  nodeId: string;
  version: string;
  quoteInfo: QuoteInfo;
  selfSignedCertPem: string;
  /** The seqno of the snapshot it joins from (CCF's startup_seqno), once chosen; 0 without one. */
  startupSeqno: number;
}

/** Why a pending node's `/app` and `/gov` are closed, and its `/node/ready/*` not ready. */
export const PENDING_REASON = 'this node is Pending; it serves once members trust it (transition_node_to_trusted) and it has caught up';

export function addPendingEndpoints(server: RpcServer, node: PendingNode): void {
  server.add('node', 'GET', '/state', () => ({ body: nodeStateView(node.nodeId, 'Pending', 0, node.startupSeqno) }));
  server.add('node', 'GET', '/version', () => ({ body: versionView(node.version) }));
  const ownQuote = () => ({ body: quoteView(node.nodeId, node.quoteInfo) });
  server.add('node', 'GET', '/quotes/self', ownQuote);
  server.add('node', 'GET', '/attestations/self', ownQuote);
  server.add('node', 'GET', '/self_signed_certificate', () => ({ body: { self_signed_certificate: node.selfSignedCertPem } }));
  const notReady = () => {
    throw new RpcError(503, 'FrontendNotOpen', PENDING_REASON);
  };
  server.add('node', 'GET', '/ready/app', notReady);
  server.add('node', 'GET', '/ready/gov', notReady);
}
