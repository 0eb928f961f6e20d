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

/** Why a request to the join target failed; `serviceCertPem` is the certificate the joiner read at its start. */
export function joinTargetFailure(error: unknown, config: NodeConfig, serviceCertPem: string): string {
  const reason = unendorsedNodeReason(error);
  // A node-to-node port takes the TLS connection and drops the request: nothing there speaks HTTP.
  if (error instanceof CocoError && error.code === 'ConnectionLost') {
    const target = config.join!.targetRpcAddress;
    // Lost on the way to where the target redirected it (the primary): that node broke it, not the field.
    if (!error.message.includes(` to ${target}: `)) {
      return `${error.message} (the target ${target} redirected the request there, to the primary, which may have stopped: a new one is elected meanwhile)`;
    }
    return `the target ${target} did not answer as an RPC interface (${error.message}): is command.join.target_rpc_address a node's RPC interface, not its node_to_node_interface?`;
  }
  if (reason === undefined) return (error as Error).message;
  const unendorsed = `the target node ${config.join!.targetRpcAddress} presented a certificate that the service certificate in command.service_certificate_file (${config.serviceCertificateFile})`;
  // The file was rewritten since (a service recovered under a new identity): the field is right, the node read it too early.
  if (fileHoldsOther(config.serviceCertificateFile, serviceCertPem)) {
    return `${unendorsed}, as this node read it when it started, does not endorse (${reason}); that file holds another certificate now (was the service recovered under a new identity?): start this node again to read it`;
  }
  return `${unendorsed} does not endorse (${reason}); set that field to the service_cert.pem of the service this node joins`;
}

/** Whether the file at `path` now holds other than `pem` (one that cannot be read does not count). */
function fileHoldsOther(path: string, pem: string): boolean {
  try {
    return fromUtf8(readInputFile(path, 'service certificate')) !== pem;
  } catch {
    return false;
  }
}
