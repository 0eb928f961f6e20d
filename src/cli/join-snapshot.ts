// The snapshot a joiner starts from, chosen before it asks to join: its seqno is the startup_seqno
// the join request states, which the primary refuses when its own log starts later (the joiner
// could never catch up). Only the receipt is checked here, against the service certificate; the
// contents are checked with the ledger secrets the accepted join brings.

import { downloadInRanges } from '../client/ranged-download.js';
import { CocoError } from '../errors.js';
import { verifySnapshotReceipt } from '../ledger/committed-snapshot.js';
import type { NodeIdentity } from '../node/identities.js';
import type { NodeConfig } from '../node/node-config.js';
import { joinTargetFailure } from './join-target.js';
import { SnapshotDirectory } from '../node/snapshot-directory.js';

/** A committed snapshot file whose receipt the service certificate endorses. */
export interface JoinSnapshot {
  name: string;
  seqno: number;
  bytes: Uint8Array;
  /** Fetched from the service (to keep in the snapshots directory), not found there. */
  fetched: boolean;
}

/** Attempts to fetch the service's snapshot before a joiner asks to join without a newer one. */
const SNAPSHOT_FETCH_ATTEMPTS = 3;

/**
 * The receipt of a snapshot copied into a joiner's directory is checked against the service
 * certificate before the node asks to join (its secrets come with the join): a snapshot of another
 * service, or a damaged one, is refused before members admit a node that could not start from it.
 */
export function checkSnapshotToJoinFrom(config: NodeConfig, serviceCertPem: string, name: string): JoinSnapshot {
  const bytes = new SnapshotDirectory(config.snapshots.directory).read(name);
  try {
    return { name, seqno: verifySnapshotReceipt(bytes, serviceCertPem, name).seqno, bytes, fetched: false };
  } catch (error) {
    if (!(error instanceof CocoError) || error.code === 'FileUnreadable') throw error;
    throw new CocoError(
      error.code === 'SnapshotServiceMismatch' ? error.code : 'SnapshotInvalid',
      `snapshot ${name} in ${config.snapshots.directory}, which this node would join from, is refused against the service certificate ${config.serviceCertificateFile}: ${error.message}. ` +
        "Replace it with the service's latest committed snapshot (GET /node/snapshot on a node with SnapshotRead), or remove it to fetch that when joining",
      { cause: error },
    );
  }
}

/**
 * The snapshot a joiner starts from: the service's latest committed one (from its join target) if
 * it is newer than `local` (the one found in the node's directory), else `local`; undefined when
 * there is neither, or the target cannot serve one now. A snapshot the service serves but the
 * certificate does not endorse is refused: the target would serve it again.
 */
export async function snapshotToJoinFrom(config: NodeConfig, serviceCertPem: string, identity: NodeIdentity, local: JoinSnapshot | undefined, log: (line: string) => void): Promise<JoinSnapshot | undefined> {
  const target = config.join!.targetRpcAddress;
  const options = { url: `https://${target}`, caCertPem: serviceCertPem, certPem: identity.selfSignedCertPem, keyPem: identity.keyPair.privateKeyPem };
  const fromLocal = local && `starting from snapshot ${local.name} in ${config.snapshots.directory}`;
  for (let attempt = 1; attempt <= SNAPSHOT_FETCH_ATTEMPTS; attempt++) {
    let download;
    try {
      // In ranges, as CCF's joiners do: a large state's snapshot exceeds any one response.
      download = await downloadInRanges(options, local === undefined ? '/node/snapshot' : `/node/snapshot?since=${local.seqno}`);
    } catch (error) {
      log(`fetching the service's snapshot: ${joinTargetFailure(error, config, serviceCertPem)}`);
      await new Promise((resolve) => setTimeout(resolve, config.join!.retryTimeoutMs));
      continue;
    }
    if (download === undefined) {
      // 404 is all a target without SnapshotRead answers too: the join request then says which.
      log(fromLocal === undefined
        ? `the target ${target} serves no snapshot (GET /node/snapshot answered 404: its RPC interface lacks "SnapshotRead" in enabled_operator_features, or the service has none yet): joining without one`
        : `${fromLocal}: the service serves none newer`);
      return local;
    }
    const name = String(download.head.headers['x-ms-ccf-snapshot-name'] ?? '');
    const host = new URL(download.head.url).host;
    let seqno: number;
    try {
      seqno = verifySnapshotReceipt(download.bytes, serviceCertPem, name).seqno;
    } catch (error) {
      if (!(error instanceof CocoError)) throw error;
      throw new CocoError(error.code, `snapshot ${name} fetched from ${host} is refused against the service certificate ${config.serviceCertificateFile}: ${error.message}`, { cause: error });
    }
    log(`fetched snapshot ${name} (${download.bytes.length} bytes) from ${host}`);
    return { name, seqno, bytes: download.bytes, fetched: true };
  }
  log(fromLocal ?? 'joining without a snapshot: the primary replicates the whole ledger, if its log holds it');
  return local;
}
