// The certificate a node resuming from its ledger issues itself when members recorded none it can
// serve. Its validity starts at the node's clock, which may be wrong: a clock ahead would make a
// certificate every client refuses as not yet valid (and a primary with it takes every write away).
// The last signature in the ledger bounds the real time from below, so the certificate is valid
// from (whole days before) the earlier of the two until its period after the later one, whichever
// clock is right, as far as the service's maximum validity allows.

import { COSE_SIGNATURES_MAP, coseSignatureTime, decodeCoseSignatureValue, SINGLETON_KEY } from '../ledger/signature.js';
import { CERTIFICATE_VALIDITY_DAYS_MAX } from '../crypto/x509.js';
import type { Transaction } from '../kv/transaction.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A clock this far behind the ledger's last signature is wrong, not merely imprecise. */
const CLOCK_BEHIND_TOLERANCE_MS = 5 * 60 * 1000;

export interface RestartCertificateWindow {
  validFrom: Date;
  validityDays: number;
  /** Set when the node's clock reads before the ledger's last signature: what to tell the operator. */
  clockWarning?: string;
}

/** When the service last signed, by the COSE signature in the state `tx` reads; undefined when unknown. */
export function lastSignatureTime(tx: Transaction): Date | undefined {
  const value = tx.map(COSE_SIGNATURES_MAP).get(SINGLETON_KEY);
  if (value === undefined) return undefined;
  const seconds = coseSignatureTime(decodeCoseSignatureValue(value));
  return seconds === undefined ? undefined : new Date(seconds * 1000);
}

/**
 * `maxValidityDays`: the service's `maximum_node_certificate_validity_days`, which bounds the whole
 * period as it bounds members' renewals (a host that set its clock ahead gets no longer certificate).
 */
export function restartCertificateWindow(now: Date, lastSigned: Date | undefined, validityDays: number, maxValidityDays = CERTIFICATE_VALIDITY_DAYS_MAX): RestartCertificateWindow {
  const days = Math.min(validityDays, maxValidityDays);
  if (lastSigned === undefined) return { validFrom: now, validityDays: days };
  // Whole days back from the later time, so that the period still ends `days` after it.
  const later = Math.max(now.getTime(), lastSigned.getTime());
  const apartDays = Math.ceil(Math.abs(now.getTime() - lastSigned.getTime()) / DAY_MS);
  const daysBack = Math.min(apartDays, maxValidityDays - days);
  const window: RestartCertificateWindow = { validFrom: new Date(later - daysBack * DAY_MS), validityDays: days + daysBack };
  if (lastSigned.getTime() - now.getTime() > CLOCK_BEHIND_TOLERANCE_MS) {
    window.clockWarning = `this node's clock reads ${now.toISOString()}, before the last signature in its ledger (${lastSigned.toISOString()}): its clock is wrong; set it right (NTP), since clients and peers check certificates and requests against their own`;
  } else if (daysBack < apartDays) {
    // A clock ahead cannot be told from a service stopped that long; said only when the period cannot cover both.
    window.clockWarning =
      `this node's clock reads ${now.toISOString()}, ${apartDays} days after the last signature in its ledger (${lastSigned.toISOString()}), and the certificate it issues itself ` +
      `(at most the service's maximum_node_certificate_validity_days, ${maxValidityDays}) cannot cover both: if the service did not stop that long, its clock is wrong; ` +
      'set it right (NTP), then have members renew its certificate (set_node_certificate_validity)';
  }
  return window;
}
