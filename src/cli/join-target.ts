// What went wrong when a joiner reached its target (command.join.target_rpc_address), said in the
// terms of the node's configuration rather than the SDK's options: the operator fixes a field.

import { unendorsedNodeReason } from '../client/coco-client.js';
import type { NodeConfig } from '../node/node-config.js';

/** Why a request to the join target failed. */
export function joinTargetFailure(error: unknown, config: NodeConfig): string {
  const reason = unendorsedNodeReason(error);
  if (reason === undefined) return (error as Error).message;
  return `the target node ${config.join!.targetRpcAddress} presented a certificate that the service certificate in command.service_certificate_file (${config.serviceCertificateFile}) does not endorse (${reason}); set that field to the service_cert.pem of the service this node joins`;
}
