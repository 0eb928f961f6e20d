// The node's and the service's identities: the node's key pair (new for a new node, kept sealed
// across restarts so the node keeps its ID), the node's self-signed certificate and CSR, the service key with its
// self-signed certificate ("CN=CCF Service"), the node certificate the service endorses, and the
// names (subject alternative names) the node's certificates hold.

import { isIP } from 'node:net';
import { publicKeyId } from '../crypto/entity-id.js';
import { generateKeyPair, type CurveName, type KeyPair } from '../crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate, type SubjectAltNames } from '../crypto/x509.js';
import { hostAndPort, type NodeConfig } from './node-config.js';

/**
 * The names a node's certificate holds: localhost, and every host it binds or publishes, an IP
 * address (IPv6 without its brackets) as an IP name, anything else as a DNS name.
 */
export function nodeSubjectAltNames(config: NodeConfig): SubjectAltNames {
  const ip = new Set<string>();
  const dns = new Set<string>(['localhost']);
  for (const iface of [...Object.values(config.rpcInterfaces), config.nodeToNode]) {
    for (const host of [iface.bindAddress.host, hostAndPort(iface.publishedAddress)?.host ?? iface.publishedAddress]) {
      if (isIP(host)) ip.add(host);
      else dns.add(host);
    }
  }
  return { ip: [...ip], dns: [...dns] };
}

export interface NodeIdentity {
  keyPair: KeyPair;
  nodeId: string;
  selfSignedCertPem: string;
  csrPem: string;
}

export interface ServiceIdentity {
  keyPair: KeyPair;
  certPem: string;
}

export function createNodeIdentity(sans: SubjectAltNames, validFrom: Date, validityDays: number, curve: CurveName = 'P-384', keyPair: KeyPair = generateKeyPair(curve)): NodeIdentity {
  const selfSignedCertPem = createSelfSignedCertificate({ subjectCn: 'CCF Node', keyPair, validFrom, validityDays, isCa: false, sans });
  const csrPem = createCsr({ subjectCn: 'CCF Node', keyPair, sans });
  return { keyPair, nodeId: publicKeyId(keyPair.publicKeyPem), selfSignedCertPem, csrPem };
}

export function createServiceIdentity(validFrom: Date, validityDays: number, curve: CurveName = 'P-384'): ServiceIdentity {
  const keyPair = generateKeyPair(curve);
  const certPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair, validFrom, validityDays, isCa: true });
  return { keyPair, certPem };
}

/**
 * The node certificate the service issues for a node's CSR (its own at genesis, a joiner's on
 * join); without `sans`, the names the CSR requests.
 */
export function endorseNode(node: Pick<NodeIdentity, 'csrPem'>, service: ServiceIdentity, sans: SubjectAltNames | undefined, validFrom: Date, validityDays: number): string {
  return issueCertificate({ csrPem: node.csrPem, issuerCertPem: service.certPem, issuerKeyPair: service.keyPair, validFrom, validityDays, isCa: false, ...(sans && { sans }) });
}
