// The `service_endorsements` of a receipt signed by a node of the service before its last disaster
// recovery (CCF's populate_service_endorsements): a CA certificate for the previous identity's subject
// and key, issued by the current service key and valid as the current service certificate is, so that
// node certificate → endorsement → current service certificate verifies. Made on first need and
// cached, never stored. Only the immediate predecessor is known (the service's
// previous_service_identity): a signer endorsed by an older identity (a service recovered more than
// once) is refused by name rather than given a receipt that verifies against no certificate at hand.

import { CocoError } from '../errors.js';
import { issueCertificate, parseCertificate, validityDaysOf, verifyCertificateChain } from '../crypto/x509.js';
import type { ServiceIdentity } from './identities.js';

/** Signing node certificates whose endorsements are kept (a service has few nodes, but rotates them). */
export const ENDORSED_SIGNERS_CACHED_MAX = 256;

export class ServiceEndorsements {
  /** By signing node certificate: its endorsements, empty when the current service endorses it. */
  readonly #bySigner = new Map<string, readonly string[]>();
  #previous: { certPem: string; endorsementPem: string } | undefined;

  /** `previousIdentity`: the certificate of the service before the last recovery, if there was one. */
  constructor(
    private readonly service: ServiceIdentity,
    private readonly previousIdentity: () => string | undefined,
  ) {}

  /**
   * The endorsements that chain `signerCertPem` (a node certificate a signature transaction carries)
   * to the current service certificate: none if the current service endorsed it. Throws CocoError
   * 'ServiceEndorsementUnavailable' if neither it nor the previous identity did.
   */
  for(signerCertPem: string): readonly string[] {
    const cached = this.#bySigner.get(signerCertPem);
    if (cached !== undefined) return cached;
    const endorsements = this.find(signerCertPem);
    if (this.#bySigner.size >= ENDORSED_SIGNERS_CACHED_MAX) this.#bySigner.delete(this.#bySigner.keys().next().value!);
    this.#bySigner.set(signerCertPem, endorsements);
    return endorsements;
  }

  private find(signerCertPem: string): readonly string[] {
    if (chainsTo(this.service.certPem, signerCertPem, [])) return [];
    const previousCertPem = this.previousIdentity();
    const endorsement = previousCertPem === undefined ? undefined : this.endorsementOf(previousCertPem);
    if (endorsement !== undefined && chainsTo(this.service.certPem, signerCertPem, [endorsement])) return [endorsement];
    const signer = parseCertificate(signerCertPem);
    const known = previousCertPem === undefined ? 'this service has no previous identity' : 'nor by the identity before its last recovery (GET /node/service/previous_identity)';
    throw new CocoError(
      'ServiceEndorsementUnavailable',
      `the node certificate that signed this transaction (issuer "${signer.issuer}") is endorsed neither by this service's certificate, ${known}: ` +
        'it is from a service recovered more than once since, whose identity this node does not hold, or the ledger was altered; ' +
        'verify the transaction with a node of that service, against its certificate',
    );
  }

  /** The previous identity endorsed by the current service key, made once for that identity. */
  private endorsementOf(previousCertPem: string): string {
    if (this.#previous?.certPem !== previousCertPem) {
      const current = parseCertificate(this.service.certPem);
      const endorsementPem = issueCertificate({
        subjectCertPem: previousCertPem,
        issuerCertPem: this.service.certPem,
        issuerKeyPair: this.service.keyPair,
        validFrom: current.notBefore,
        validityDays: validityDaysOf(current),
        isCa: true,
      });
      this.#previous = { certPem: previousCertPem, endorsementPem };
    }
    return this.#previous.endorsementPem;
  }
}

/** Whether `leafPem` chains to `rootPem` through `intermediatesPem`, whenever their validity: a receipt outlives certificates. */
function chainsTo(rootPem: string, leafPem: string, intermediatesPem: string[]): boolean {
  try {
    verifyCertificateChain(leafPem, { trustedRootPem: rootPem, intermediatesPem, at: 'ignore-validity' });
    return true;
  } catch (error) {
    if (error instanceof CocoError && error.code === 'CertificateChainInvalid') return false;
    throw error;
  }
}
