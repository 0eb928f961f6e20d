// The `service_endorsements` of a receipt signed by a node of the service before a disaster
// recovery (CCF's populate_service_endorsements): a CA certificate for the identity that endorsed
// the signer (its subject and key), issued by the current service key and valid as the current
// service certificate is, so that node certificate → endorsement → current service certificate
// verifies. Made on first need and cached, never stored. The identity before the last recovery is at
// hand (the service's previous_service_identity); older ones (a service recovered more than once)
// are read back from the ledger's service-information records once one is needed
// (service-identity-history.ts): meanwhile a receipt waits, as one read back from the ledger does.

import { equalBytes } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { issueCertificate, parseCertificate, validityDaysOf, verifyCertificateChain } from '../crypto/x509.js';
import type { ServiceIdentity } from './identities.js';

/** Signing node certificates whose endorsements are kept (a service has few nodes, but rotates them). */
export const ENDORSED_SIGNERS_CACHED_MAX = 256;

/** The identities before the previous one, read back once: what was found, or why they could not be. */
type OlderIdentities = { certPems: readonly string[] } | { failure: string };

export class ServiceEndorsements {
  /** By signing node certificate: its endorsements, empty when the current service endorses it. */
  readonly #bySigner = new Map<string, readonly string[]>();
  /** By endorsed identity certificate: its endorsement by the current key. */
  readonly #byIdentity = new Map<string, string>();
  #older: OlderIdentities | undefined;
  #olderLoading: Promise<void> | undefined;

  /**
   * `previousIdentity`: the certificate of the service before the last recovery, if there was one;
   * `olderIdentities`: every identity the ledger records, newest first, read back from the ledger
   * (rejects when it cannot be read).
   */
  constructor(
    private readonly service: ServiceIdentity,
    private readonly previousIdentity: () => string | undefined,
    private readonly olderIdentities: () => Promise<readonly string[]>,
  ) {}

  /**
   * The endorsements that chain `signerCertPem` (a node certificate a signature transaction carries)
   * to the current service certificate: none if the current service endorsed it. Throws CocoError
   * 'TransactionNotCached' while older identities are read back from the ledger, and
   * 'ServiceEndorsementUnavailable' if no identity of the service endorsed it.
   */
  for(signerCertPem: string): readonly string[] {
    const cached = this.#bySigner.get(signerCertPem);
    if (cached !== undefined) return cached;
    const endorsements = this.find(signerCertPem);
    if (this.#bySigner.size >= ENDORSED_SIGNERS_CACHED_MAX) this.#bySigner.delete(this.#bySigner.keys().next().value!);
    this.#bySigner.set(signerCertPem, endorsements);
    return endorsements;
  }

  /** As `for`, waiting for the older identities rather than throwing 'TransactionNotCached'. */
  async forSigner(signerCertPem: string): Promise<readonly string[]> {
    try {
      return this.for(signerCertPem);
    } catch (error) {
      if (!(error instanceof CocoError && error.code === 'TransactionNotCached')) throw error;
      await this.loadOlder();
      return this.for(signerCertPem);
    }
  }

  private find(signerCertPem: string): readonly string[] {
    if (chainsTo(this.service.certPem, signerCertPem, [])) return [];
    const previous = this.previousIdentity();
    const older = this.#older !== undefined && 'certPems' in this.#older ? this.#older.certPems : [];
    for (const certPem of new Set([...(previous === undefined ? [] : [previous]), ...older])) {
      const endorsement = this.endorsementOf(certPem);
      if (endorsement !== undefined && chainsTo(this.service.certPem, signerCertPem, [endorsement])) return [endorsement];
    }
    if (previous !== undefined && this.#older === undefined) {
      void this.loadOlder();
      throw new CocoError('TransactionNotCached', "the service's identities before its last recovery are being read back from the ledger; ask again shortly");
    }
    const signer = parseCertificate(signerCertPem);
    const known =
      previous === undefined
        ? 'this service has no previous identity'
        : this.#older !== undefined && 'failure' in this.#older
          ? `nor by the identity before its last recovery (GET /node/service/previous_identity), and the older ones could not be read back from this node's ledger (${this.#older.failure}): ask a node that holds the whole ledger`
          : `nor by any identity this service had before (${older.length} recorded in its ledger)`;
    throw new CocoError(
      'ServiceEndorsementUnavailable',
      `the node certificate that signed this transaction (issuer "${signer.issuer}") is endorsed neither by this service's certificate, ${known}; ` +
        'the ledger was altered, or the transaction is from another service: verify it with a node of that service, against its certificate',
    );
  }

  /** Reads the older identities back once; a failure is kept (and said in every refusal after). */
  private loadOlder(): Promise<void> {
    this.#olderLoading ??= this.olderIdentities().then(
      (certPems) => void (this.#older = { certPems }),
      (error: unknown) => void (this.#older = { failure: (error as Error).message }),
    );
    return this.#olderLoading;
  }

  /** `identityCertPem` endorsed by the current service key, made once for that identity; undefined for the current identity itself. */
  private endorsementOf(identityCertPem: string): string | undefined {
    let endorsementPem = this.#byIdentity.get(identityCertPem);
    if (endorsementPem === undefined) {
      const current = parseCertificate(this.service.certPem);
      const identity = parseCertificate(identityCertPem);
      if (equalBytes(identity.publicKeyDer, current.publicKeyDer)) return undefined;
      endorsementPem = issueCertificate({
        subjectCertPem: identityCertPem,
        issuerCertPem: this.service.certPem,
        issuerKeyPair: this.service.keyPair,
        validFrom: current.notBefore,
        validityDays: validityDaysOf(current),
        isCa: true,
      });
      this.#byIdentity.set(identityCertPem, endorsementPem);
    }
    return endorsementPem;
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
