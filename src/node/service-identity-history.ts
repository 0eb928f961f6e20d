// The identities a service had before the one it recovered from, read back from the ledger as CCF's
// find_previous_service_identity does: every write to the service information names the seqno of
// the write before it (`previous_service_identity_version`), so walking that list from the current
// record passes through each earlier service's records, back to genesis. A receipt of a transaction
// signed under one of them is endorsed by the current key directly (service-endorsements.ts).

import { parseCertificate } from '../crypto/x509.js';
import { decodeJson, Tables, type ServiceInfo } from '../governance/builtin-tables.js';
import { decodeEntry } from '../ledger/entry.js';
import { singletonWrite } from '../ledger/signature.js';
import { equalBytes } from '../crypto/bytes.js';

/** The service information a transaction wrote, from its entry's public domain (no secret needed). */
export function serviceInfoWrittenBy(entryBytes: Uint8Array): ServiceInfo | undefined {
  const value = singletonWrite(decodeEntry(entryBytes).entry.publicMaps, Tables.serviceInfo);
  return value && decodeJson<ServiceInfo>(value, Tables.serviceInfo);
}

/**
 * The certificates of the service's identities recorded before `from` (the current record's
 * `previous_service_identity_version`), newest first, one per key: `readAt` gives the entry of a
 * seqno (and throws when the ledger there cannot be read).
 */
export async function serviceIdentitiesBefore(from: number | undefined, readAt: (seqno: number) => Promise<Uint8Array>): Promise<string[]> {
  const identities: { certPem: string; key: Uint8Array }[] = [];
  const visited = new Set<number>();
  for (let seqno = from; seqno !== undefined && !visited.has(seqno); ) {
    visited.add(seqno);
    const info = serviceInfoWrittenBy(await readAt(seqno));
    if (info === undefined) break;
    const key = parseCertificate(info.cert).publicKeyDer;
    if (!identities.some((identity) => equalBytes(identity.key, key))) identities.push({ certPem: info.cert, key });
    seqno = info.previous_service_identity_version;
  }
  return identities.map((identity) => identity.certPem);
}
