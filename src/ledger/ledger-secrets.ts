// The ledger secrets a node holds: AES-256-GCM keys, each applicable from a seqno until the next
// one (a rekey). Private domains are encrypted, and public-only entries authenticated, with the
// secret applicable at the entry's seqno.

import { AES_256_KEY_BYTES } from '../crypto/aes-gcm.js';
import { equalBytes } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';

export interface LedgerSecret {
  /** First seqno this secret applies to. */
  fromSeqno: number;
  key: Uint8Array;
}

export class LedgerSecrets {
  private readonly secrets: LedgerSecret[] = [];

  constructor(initial: readonly LedgerSecret[] = []) {
    for (const secret of initial) this.add(secret);
  }

  /**
   * Adds a secret applicable from `fromSeqno`. Adding one already held (a restarted node replaying
   * the rekey that sent it) changes nothing; a different key for the same seqno is refused.
   */
  add(secret: LedgerSecret): void {
    if (secret.key.length !== AES_256_KEY_BYTES) {
      throw new CocoError('InvalidKey', `a ledger secret is ${AES_256_KEY_BYTES} bytes, not ${secret.key.length}`);
    }
    const held = this.secrets.find((s) => s.fromSeqno === secret.fromSeqno);
    if (held !== undefined) {
      if (!equalBytes(held.key, secret.key)) throw new CocoError('LedgerSecretConflict', `two different ledger secrets apply from seqno ${secret.fromSeqno}`);
      return;
    }
    const last = this.secrets.at(-1);
    if (last && secret.fromSeqno <= last.fromSeqno) {
      throw new CocoError('InvalidArgument', `ledger secrets must be added in seqno order (${secret.fromSeqno} after ${last.fromSeqno})`);
    }
    this.secrets.push({ fromSeqno: secret.fromSeqno, key: secret.key });
  }

  /**
   * Adds the secrets of a recovered ledger, all applicable before the first held one (CCF's
   * restore_historical): a recovered service restores its previous service's secrets after it has
   * made its own.
   */
  restoreEarlier(earlier: readonly LedgerSecret[]): void {
    const first = this.secrets[0]?.fromSeqno ?? Infinity;
    const restored = new LedgerSecrets(earlier);
    const last = restored.secrets.at(-1);
    if (last !== undefined && last.fromSeqno >= first) {
      throw new CocoError('InvalidArgument', `a restored ledger secret applies from seqno ${last.fromSeqno}, not before the first held one (${first})`);
    }
    this.secrets.unshift(...restored.secrets);
  }

  has(fromSeqno: number): boolean {
    return this.secrets.some((s) => s.fromSeqno === fromSeqno);
  }

  /** The seqno the newest secret applies from (CCF's latest ledger secret seqno). */
  get latestFromSeqno(): number {
    return this.secrets.at(-1)?.fromSeqno ?? 0;
  }

  /**
   * Forgets the secrets of rekeys after `seqno` (rolled back: a rekey at seqno v sends a secret
   * applicable from v + 1). Returns whether any was forgotten.
   */
  rollback(seqno: number): boolean {
    const before = this.secrets.length;
    while (this.secrets.length > 1 && this.secrets.at(-1)!.fromSeqno > seqno + 1) this.secrets.pop();
    return this.secrets.length !== before;
  }

  /** Every secret, oldest first (what a joining node receives). */
  all(): readonly LedgerSecret[] {
    return this.secrets;
  }

  keyFor(seqno: number): Uint8Array {
    for (let i = this.secrets.length - 1; i >= 0; i--) {
      const secret = this.secrets[i]!;
      if (secret.fromSeqno <= seqno) return secret.key;
    }
    throw new CocoError('LedgerSecretMissing', `no ledger secret applies to seqno ${seqno}`);
  }
}
