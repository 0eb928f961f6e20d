// did:x509 (https://github.com/microsoft/did-x509, version 0): a DID that names a certificate chain
// by the fingerprint of one of its CA certificates and by policies the leaf must meet (an extended
// key usage, subject fields, subject alternative names). Resolving it against a chain yields the
// leaf's public key. As CCF resolves it for UVM endorsements, certificate validity times are not
// checked: the DID states who endorsed, not until when.

import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { CocoError } from '../errors.js';

const PREFIX = 'did:x509:0:';
const FINGERPRINT_HASHES: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };

function unresolved(did: string, reason: string): never {
  throw new CocoError('DidX509Unresolved', `DID ${did} does not resolve against the certificate chain: ${reason}`);
}

/**
 * The public key of the leaf of `chain` (DER certificates, leaf first, each issued by the next) if
 * `did` names that chain: one of its CA certificates has the DID's fingerprint and the leaf meets
 * every policy. CocoError 'DidX509Unresolved' otherwise.
 */
export function resolveDidX509(chain: readonly Uint8Array[], did: string): KeyObject {
  if (!did.startsWith(PREFIX)) unresolved(did, `a did:x509 DID of version 0 starts with "${PREFIX}"`);
  const [head, ...policies] = did.slice(PREFIX.length).split('::');
  const [hashName, fingerprint, ...rest] = (head ?? '').split(':');
  const hash = FINGERPRINT_HASHES[hashName ?? ''];
  if (hash === undefined || fingerprint === undefined || fingerprint === '' || rest.length > 0) unresolved(did, 'it does not name a CA by "<sha256|sha384|sha512>:<base64url fingerprint>"');
  if (policies.length === 0) unresolved(did, 'it names no policy the leaf must meet');
  if (chain.length < 2) unresolved(did, `the chain holds ${chain.length} certificate(s): a leaf and at least one CA are needed`);
  const certificates = chain.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (error) {
      return unresolved(did, `certificate ${i} of the chain does not parse (${(error as Error).message})`);
    }
  });
  certificates.forEach((certificate, i) => {
    const issuer = certificates[i + 1] ?? certificate;
    if (!certificate.checkIssued(issuer) || !certificate.verify(issuer.publicKey)) {
      unresolved(did, i + 1 < certificates.length ? `certificate ${i} is not issued by certificate ${i + 1}` : 'the last certificate of the chain is not self-signed');
    }
    if (i > 0 && !certificate.ca) unresolved(did, `certificate ${i} of the chain is not a CA`);
  });
  const named = certificates.slice(1).some((ca) => createHash(hash).update(ca.raw).digest('base64url') === fingerprint);
  if (!named) unresolved(did, `no CA certificate of the chain has the ${hashName} fingerprint ${fingerprint}`);
  const leaf = certificates[0]!;
  for (const policy of policies) checkPolicy(did, leaf, policy);
  return leaf.publicKey;
}

function checkPolicy(did: string, leaf: X509Certificate, policy: string): void {
  const [name, ...parts] = policy.split(':');
  switch (name) {
    case 'eku': {
      const oid = parts.join(':');
      if (!(leaf.keyUsage ?? []).includes(oid)) unresolved(did, `the leaf certificate has no extended key usage ${oid}`);
      return;
    }
    case 'subject': {
      if (parts.length === 0 || parts.length % 2 !== 0) unresolved(did, `the subject policy "${policy}" is not key:value pairs`);
      const subject = subjectFields(leaf.subject);
      for (let i = 0; i < parts.length; i += 2) {
        const key = parts[i]!;
        const value = decodeURIComponent(parts[i + 1]!);
        if (!(subject.get(key) ?? []).includes(value)) unresolved(did, `the leaf certificate's subject has no ${key}=${value}`);
      }
      return;
    }
    case 'san': {
      const [type, encoded] = parts;
      const names = (leaf.subjectAltName ?? '').split(', ');
      const wanted = `${SAN_TYPES[type ?? ''] ?? unresolved(did, `unknown subject alternative name type "${type}"`)}:${decodeURIComponent(encoded ?? '')}`;
      if (!names.includes(wanted)) unresolved(did, `the leaf certificate has no subject alternative name ${wanted}`);
      return;
    }
    default:
      unresolved(did, `policy "${name}" is not supported (eku, subject and san are)`);
  }
}

/** did:x509's SAN types, as Node names them in `subjectAltName`. */
const SAN_TYPES: Record<string, string> = { email: 'email', dns: 'DNS', uri: 'URI' };

/** Each field of a subject ("C=US\nCN=name") with its values. */
function subjectFields(subject: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const line of subject.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line.slice(0, at);
    fields.set(key, [...(fields.get(key) ?? []), line.slice(at + 1)]);
  }
  return fields;
}
