// The node's and the service's identities: a fresh key pair per node start (a restarted node
// is a new node, as in CCF), the node's self-signed certificate and CSR, the service key with its
// self-signed certificate ("CN=CCF Service"), and the node certificate the service endorses.

import { publicKeyId } from '../crypto/entity-id.js';
import { generateKeyPair, type CurveName, type KeyPair } from '../crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate, type SubjectAltNames } from '../crypto/x509.js';

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

export function createNodeIdentity(sans: SubjectAltNames, validFrom: Date, validityDays: number, curve: CurveName = 'P-384'): NodeIdentity {
  const keyPair = generateKeyPair(curve);
  const selfSignedCertPem = createSelfSignedCertificate({ subjectCn: 'CCF Node', keyPair, validFrom, validityDays, isCa: false, sans });
  const csrPem = createCsr({ subjectCn: 'CCF Node', keyPair, sans });
  return { keyPair, nodeId: publicKeyId(keyPair.publicKeyPem), selfSignedCertPem, csrPem };
}

export function createServiceIdentity(validFrom: Date, validityDays: number, curve: CurveName = 'P-384'): ServiceIdentity {
  const keyPair = generateKeyPair(curve);
  const certPem = createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair, validFrom, validityDays, isCa: true });
  return { keyPair, certPem };
}

export function endorseNode(node: NodeIdentity, service: ServiceIdentity, sans: SubjectAltNames, validFrom: Date, validityDays: number): string {
  return issueCertificate({ csrPem: node.csrPem, issuerCertPem: service.certPem, issuerKeyPair: service.keyPair, validFrom, validityDays, isCa: false, sans });
}
