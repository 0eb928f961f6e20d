// What went wrong when a joiner reached its target (command.join.target_rpc_address), said in the
// terms of the node's configuration rather than the SDK's options: the operator fixes a field.

import { unendorsedNodeReason } from '../client/coco-client.js';
import { fromUtf8 } from '../crypto/bytes.js';
import { certificateDer } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import type { NodeConfig } from '../node/node-config.js';
import { readInputFile } from '../node/read-input.js';

/** The certificate of the service a joiner joins (command.service_certificate_file), checked to be one. */
export function joinServiceCertificate(config: NodeConfig): string {
  const path = config.serviceCertificateFile;
  const pem = fromUtf8(readInputFile(path, 'service certificate'));
  try {
    certificateDer(pem);
  } catch (error) {
    throw new CocoError(
      'InvalidConfig',
      `configuration $.command.service_certificate_file: ${path} is not a PEM certificate (${(error as Error).message}); set it to the service_cert.pem of the service this node joins`,
      { cause: error },
    );
  }
  return pem;
}

/** Why a request to the join target failed. */
export function joinTargetFailure(error: unknown, config: NodeConfig): string {
  const reason = unendorsedNodeReason(error);
  // A node-to-node port takes the TLS connection and drops the request: nothing there speaks HTTP.
  if (error instanceof CocoError && error.code === 'ConnectionLost') {
    return `the target ${config.join!.targetRpcAddress} did not answer as an RPC interface (${error.message}): is command.join.target_rpc_address a node's RPC interface, not its node_to_node_interface?`;
  }
  if (reason === undefined) return (error as Error).message;
  return `the target node ${config.join!.targetRpcAddress} presented a certificate that the service certificate in command.service_certificate_file (${config.serviceCertificateFile}) does not endorse (${reason}); set that field to the service_cert.pem of the service this node joins`;
}
