// Runs a node process: works out where the node starts (a new service, joining one, or its own
// ledger after a restart), creates or reloads the identities, opens the node-to-node channels,
// writes the genesis transaction for a new service, and serves every configured RPC interface over
// HTTPS. Returns a handle that stops it cleanly.

import { X509Certificate } from 'node:crypto';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { basename, dirname, join } from 'node:path';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { refuseIfLedgerInUse, refuseIfNodeRunning, removeOwnPidFile } from './node-pid-file.js';
import { writeOutputFile } from './output-file.js';
import { watchDescriptors } from './descriptor-watch.js';
import { RetirementCheck } from './retirement-check.js';
import { recordedCertificate, renewedCertificate } from '../node/renewed-certificate.js';
import { CLOCK_FRAME, CLOCK_SHARE_INTERVAL_MS, clockSkewWarning, decodeClockReading, encodeClockReading, ServiceClock } from '../node/service-clock.js';
import { lastSignatureTime, restartCertificateWindow } from '../node/restart-certificate.js';
import { fromBase64, fromHex } from '../crypto/bytes.js';
import { CocoClient } from '../client/coco-client.js';
import { errorOf } from '../client/coco-response.js';
import { NodeChannels } from '../channels/node-channels.js';
import { NodeListener } from '../channels/node-listener.js';
import { decodeRaftMessage, encodeRaftMessage } from '../channels/raft-message-codec.js';
import type { KeyPair } from '../crypto/signing.js';
import { generateKeyPair } from '../crypto/signing.js';
import { interfaceNameMismatch, readNodeRecords, rpcBindAddresses, rpcInterfaceUrl } from '../node/service-nodes.js';
import { publishedAddressChanges } from '../node/published-address-changes.js';
import { ExecutionContext } from '../ethereum/execution-context.js';
import { ethereumMethods } from '../ethereum/eth-methods.js';
import { NodeEthereumBackend } from '../ethereum/node-backend.js';
import { addEthereumEndpoints } from '../ethereum/ethereum-endpoint.js';
import { handleJsonRpc } from '../ethereum/json-rpc.js';
import { FORWARDED_SEND_ANSWER_MS } from '../ethereum/limits.js';
import type { JobTurns } from '../ethereum/one-at-a-time.js';
import { resolveChainSettings, writeChainSettings } from '../ethereum/chain-settings.js';
import { ethereumMaps } from '../ethereum/ethereum-maps.js';
import { ServiceChain } from '../ethereum/service-chain.js';
import type { Transaction } from '../kv/transaction.js';
import { FORWARDED_REQUEST_FRAME, FORWARDED_RESPONSE_FRAME, RequestForwarder } from '../channels/request-forwarding.js';
import { setBalance } from '../ethereum/account-state.js';
import { committedSnapshotNames, SnapshotDirectory, SnapshotRefused, verifySnapshotFile, type LoadedSnapshot } from '../node/snapshot-directory.js';
import { parseSnapshotFileName } from '../ledger/committed-snapshot.js';
import { joinServiceCertificate, joinTargetFailure } from './join-target.js';
import { checkSnapshotToJoinFrom, snapshotToJoinFrom, type JoinSnapshot } from './join-snapshot.js';
import { LedgerVerificationError, UNTRUSTED_SERVICE_IDENTITY } from '../ledger/ledger-verifier.js';
import { addJoinEndpoint, type JoinRequest, type JoinResponse } from '../rpc/join-endpoint.js';
import { addPendingEndpoints, PENDING_REASON, type PendingNode } from '../rpc/pending-endpoints.js';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { QuoteNotAllowed, verifyVirtualQuote, virtualQuote, type QuoteInfo } from '../attestation/virtual-attestation.js';
import { CocoError } from '../errors.js';
import { readServiceConfig, virtualJoinPolicy, type NodeInfo } from '../governance/builtin-tables.js';
import { parseChunkName } from '../ledger/chunk-file.js';
import type { GenesisMember } from '../node/genesis.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, nodeSubjectAltNames, type NodeIdentity, type ServiceIdentity } from '../node/identities.js';
import { LedgerSecrets } from '../ledger/ledger-secrets.js';
import { randomBytes } from '../crypto/random.js';
import { formatTxId } from '../ledger/tx-id.js';
import { isReadableCertificate } from '../crypto/x509.js';
import { readSealedSecrets, writeSealedSecrets, type SealedSecrets } from '../node/sealed-secrets.js';
import { setAsideFile } from '../node/set-aside.js';
import { joiningKeysPath, readJoiningKeys, removeJoiningKeys, writeJoiningKeys } from '../node/joining-keys.js';
import type { LedgerSecretReceiver } from '../node/ledger-rekey.js';
import { generateRsaKeyPair } from '../crypto/rsa-oaep.js';
import { NO_COSE_SIGNATURE_CLAIMS, recordedCoseSignatureClaims } from '../node/cose-signature-claims.js';
import { RsaKeyPairPool } from '../node/rsa-key-pair-pool.js';
import { HistoricalRanges } from '../node/historical-ranges.js';
import { holdsLedger, listChunkFiles, listReplayChunkFiles } from '../node/ledger-directory.js';
import { refuseIfBehindCommitMarker } from '../node/ledger-behind-commit-marker.js';
import { replayLedger, type ReplayedLedger } from '../node/ledger-replay.js';
import { describeRetirement, retirementAtRestart } from '../node/retirement-at-restart.js';
import { certificateId, publicKeyId } from '../crypto/entity-id.js';
import { Node, type NodeStart } from '../node/node.js';
import { JwtKeyRefresh } from '../node/jwt-key-refresh.js';
import { eventLoopBusyShareSince } from '../node/event-loop-busy.js';
import { bindAddresses, eventLoopHoldMaxMs, hostAndPort, invalidConfig, refuseSharedBindAddresses, type InterfaceAddresses, type NodeConfig, type RecoverConfig, type RpcInterfaceConfig } from '../node/node-config.js';
import { readInputFile } from '../node/read-input.js';
import { addBuiltinEndpoints } from '../rpc/builtin-endpoints.js';
import { addGovEndpoints } from '../rpc/gov-endpoints.js';
import { appEndpointLookup, appFrontendCheck, appRequestHandler } from '../rpc/app-endpoints.js';
import { JsConstitutionRunner } from '../governance/js-constitution-runner.js';
import { DEFAULT_JS_LIMITS } from '../js/js-limits.js';
import { Governance } from '../governance/proposals.js';
import { AppRuntime } from '../rpc/app-runtime.js';
import type { JsHost } from '../js/js-host.js';
import { BufferedLog, logLine } from '../node/buffered-log.js';
import { REQUEST_SLICE_MS } from '../rpc/request-turns.js';
import { RpcError } from '../rpc/rpc-error.js';
import { RpcServer } from '../rpc/rpc-server.js';
import { SessionCounts } from '../rpc/session-caps.js';
import { withSessionCapsWithinOpenFiles } from './session-descriptor-budget.js';
import { makeDirectory } from '../node/make-directory.js';

const LEDGER_SECRET_BYTES = 32;
/** How often a node whose clock is far from the service's says so again. */
const CLOCK_SKEW_REPORT_REPEAT_MS = 10 * 60_000;
/** How often a node looks for a certificate renewed by governance. */
const CERTIFICATE_RENEWAL_CHECK_MS = 1000;

export interface RunningService {
  node: Node;
  /** `https://host:port` of each RPC interface, by name. */
  urls: Record<string, string>;
  serviceCertPem: string;
  /** Whether this start was the service's genesis, which wrote command.service_certificate_file (a restart writes nothing). */
  wroteServiceCertificate: boolean;
  /**
   * Settles with the reason once the node stopped applying transactions, or (a joiner, once caught
   * up) found its configuration at odds with the service's (already logged): it serves nothing useful after.
   */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

function readText(path: string, what: string): string {
  return fromUtf8(readInputFile(path, what));
}

function readMembers(config: NodeConfig): GenesisMember[] {
  return config.start.members.map((member) => {
    let memberData: unknown;
    if (member.dataJsonFile !== undefined) {
      try {
        memberData = JSON.parse(readText(member.dataJsonFile, 'member data'));
      } catch (error) {
        if (error instanceof CocoError) throw error;
        throw new CocoError('InvalidConfig', `member data ${member.dataJsonFile} is not JSON`);
      }
    }
    return {
      certPem: readText(member.certificateFile, 'member certificate'),
      encryptionPublicKeyPem: member.encryptionPublicKeyFile === undefined ? undefined : readText(member.encryptionPublicKeyFile, 'member encryption key'),
      memberData,
    };
  });
}

/** What a virtual node reports as the digest of the code it runs. */
export function hostData(version: string): Uint8Array {
  return sha256(utf8(`coco ${version}`));
}

/** Frames on the node-to-node channels: consensus messages (other kinds are reserved). */
export const RAFT_FRAME = 1;
/** Ticks per heartbeat: the consensus clock runs this much finer than message_timeout. */
const TICKS_PER_MESSAGE_TIMEOUT = 5;

interface Starting {
  start: NodeStart;
  service: ServiceIdentity;
  secrets: LedgerSecrets;
  nodeKeyPair: KeyPair;
  /** Absent for a node an older Coco started: it published no encryption key. */
  encryptionKeyPair: KeyPair | undefined;
  /** What the genesis transaction of a new service writes from the configured files. */
  genesis?: GenesisFiles;
  /** The certificate of the service this node recovered, if it did (see SealedSecrets). */
  previousServiceCertPem?: string | undefined;
}

interface GenesisFiles {
  members: GenesisMember[];
  constitution: string;
}

function readGenesisFiles(config: NodeConfig): GenesisFiles {
  return { members: readMembers(config), constitution: config.start.constitutionFiles.map((file) => readText(file, 'constitution file')).join('\n') };
}

/**
 * A node's keys before it joins: its identity and the RSA key new ledger secrets are sent to; the
 * certificate of the service it joins; the local snapshot it starts from, if any.
 */
interface JoinerKeys {
  join: KeyPair;
  encryption: KeyPair;
  serviceCertPem: string;
  snapshot: JoinSnapshot | undefined;
}

/** The latest committed snapshot in the node's snapshots directory, if any: one it wrote or started from, or one an operator copied there. */
function localSnapshotName(config: NodeConfig): string | undefined {
  return existsSync(config.snapshots.directory) ? new SnapshotDirectory(config.snapshots.directory).latestCommittedName() : undefined;
}

/** An unreadable read-only ledger directory is a configuration mistake: said at start, not at the first read of old ledger. */
function checkReadOnlyDirectories(config: NodeConfig): void {
  for (const directory of config.ledgerReadOnlyDirectories) {
    try {
      listChunkFiles(directory, { allowEmpty: true });
    } catch (error) {
      throw new CocoError('InvalidConfig', `configuration $.ledger.read_only_directories: ${(error as Error).message}`);
    }
  }
}

/**
 * The ledger and snapshot directories are made (or found writable) before anything of a service is
 * written: one that cannot be (a path through a file, no permission) is a configuration mistake,
 * said in one line, not a stack trace after a new service identity was sealed.
 */
function prepareDirectories(config: NodeConfig): void {
  for (const [field, directory] of [['$.ledger.directory', config.ledgerDirectory], ['$.snapshots.directory', config.snapshots.directory]] as const) {
    try {
      makeDirectory(directory);
      accessSync(directory, constants.W_OK);
    } catch (error) {
      throw new CocoError('InvalidConfig', `configuration ${field}: cannot create or write the directory ${directory}: ${(error as Error).message}; give one this node can write`);
    }
  }
}

/** Keeps what a restart needs where `config` says (see sealed-secrets.ts). */
function seal(config: NodeConfig, starting: Omit<Starting, 'start'> & { start?: NodeStart }): void {
  const recoveredTo = starting.start?.kind === 'recover' ? starting.start.replayed.lastTxId.seqno : undefined;
  const awaitingShares = recoveredTo !== undefined && !starting.secrets.all().some((secret) => secret.fromSeqno <= recoveredTo);
  writeSealedSecrets(config.sealedSecretsFile, {
    ...(awaitingShares && { recoveringAfter: recoveredTo }),
    ledgerSecrets: [...starting.secrets.all()],
    serviceKeyPair: starting.service.keyPair,
    serviceCertPem: starting.service.certPem,
    nodeKeyPair: starting.nodeKeyPair,
    nodeEncryptionKeyPair: starting.encryptionKeyPair,
    previousServiceCertPem: starting.previousServiceCertPem,
  });
}

/**
 * The committed snapshots in the snapshots directory other than the one a recovery starts from
 * (`kept`), set aside as `.ignored`: the recovered service writes its own, and a restart of the
 * recovered node must find no other.
 */
function setAsidePreviousSnapshots(config: NodeConfig, kept: string | undefined): void {
  if (!existsSync(config.snapshots.directory)) return;
  const directory = new SnapshotDirectory(config.snapshots.directory);
  const names = directory.committedNames().filter((name) => name !== kept);
  const setAsideAs = names.map((name) => directory.setAside(name));
  if (names.length > 0) {
    const why = kept === undefined ? 'a recovery that holds the whole ledger replays it all' : `the recovery starts from ${kept}`;
    logLine('warn', `coco node: the previous service's other snapshots in ${config.snapshots.directory} set aside (as ${setAsideAs.join(', ')}): ${why}, and the recovered service writes its own`);
  }
}

/**
 * The previous service's snapshot a recovery starts from when its ledger lacks the beginning (the
 * node that kept the most joined from a snapshot, or its early chunks are gone): the latest
 * committed one in snapshots.directory whose receipt verifies against the previous certificate,
 * its public maps decoded (the private ones wait for the members' shares). A ledger that holds
 * seqno 1 is replayed whole, every entry verified.
 */
function recoverySnapshot(config: NodeConfig, previousServiceCertPem: string): { snapshot: LoadedSnapshot | undefined; refused: string[] } {
  const refused: string[] = [];
  const first = listReplayChunkFiles(config.ledgerDirectory, config.ledgerReadOnlyDirectories, { allowEmpty: true })[0];
  if (first === undefined || first.chunk.first === 1 || !existsSync(config.snapshots.directory)) return { snapshot: undefined, refused };
  const directory = new SnapshotDirectory(config.snapshots.directory);
  for (const name of directory.committedNames()) {
    try {
      const snapshot = directory.load(name, previousServiceCertPem, 'public only');
      logLine('info', `coco node: ${config.ledgerDirectory} starts at seqno ${first.chunk.first}: recovering from the previous service's snapshot ${name} (seqno ${snapshot.txId.seqno}) and the ledger after it`);
      return { snapshot, refused };
    } catch (error) {
      if (!(error instanceof CocoError)) throw error;
      // Verified against the previous certificate only: an older service's is no starting point.
      const reason = error.code === 'SnapshotServiceMismatch' ? `it is not a snapshot of the service command.recover names (an older service's, or another's): ${error.message}` : error.message;
      refused.push(`${name}: ${reason}`);
      logLine('warn', `coco node: snapshot ${name} cannot start the recovery: ${reason}; trying the next older one`);
    }
  }
  return { snapshot: undefined, refused };
}

/**
 * Whether a node configured to recover does so now, or resumes the service it recovered (it opened:
 * its sealed secrets hold the previous service's). Sealed secrets of an earlier attempt, or of the
 * previous service itself (the recovery runs in one of its node's directories), are set aside.
 */
function recoversNow(config: NodeConfig, recover: RecoverConfig, sealed: SealedSecrets | undefined): boolean {
  if (sealed === undefined) return true;
  if (sealed.recoveringAfter !== undefined) {
    setAsideInterruptedRecovery(config, sealed.recoveringAfter);
    return true;
  }
  if (sealed.serviceCertPem !== previousServiceCertificate(recover)) return false;
  setAsideSealedSecrets(config);
  logLine('warn', `coco node: ${config.sealedSecretsFile} holds the secrets of the previous service's node that wrote this ledger: set aside as .ignored, as the configuration asks for a recovery`);
  return true;
}

/** Moves `path` aside, keeping what an earlier attempt set aside (the first may be the previous service's own sealed secrets). */
function setAside(path: string): void {
  setAsideFile(dirname(path), basename(path));
}

/** Sealed secrets a recovery does not start from, kept for inspection as `.ignored`. */
function setAsideSealedSecrets(config: NodeConfig): void {
  setAside(config.sealedSecretsFile);
}

/** command.recover.previous_service_identity_file, read and checked. */
function previousServiceCertificate(recover: RecoverConfig): string {
  const pem = readText(recover.previousServiceIdentityFile, 'previous service certificate (command.recover.previous_service_identity_file)');
  if (!isReadableCertificate(pem)) {
    throw new CocoError('InvalidConfig', `configuration $.command.recover.previous_service_identity_file: ${recover.previousServiceIdentityFile} holds no PEM certificate: give the previous service's service_cert.pem`);
  }
  return pem;
}

/**
 * A recovery that stopped before its service opened starts again, as CCF's does: what the recovered
 * service wrote (its chunks after `recoveredTo`, the previous service's last signature) and its
 * sealed secrets are set aside as `.ignored`, and the previous service's ledger is recovered anew,
 * under a new identity: members propose and submit their shares again.
 */
function setAsideInterruptedRecovery(config: NodeConfig, recoveredTo: number): void {
  const recovered = listChunkFiles(config.ledgerDirectory).filter((file) => file.chunk.first > recoveredTo);
  for (const file of recovered) setAside(file.path);
  setAsideSealedSecrets(config);
  logLine(
    'warn',
    `coco node: this node began a recovery that stopped before the service opened: the recovered service's ${recovered.length} chunk(s) after seqno ${recoveredTo} ` +
      `and ${config.sealedSecretsFile} set aside as .ignored; recovering the previous service's ledger again, under a new identity (members propose transition_service_to_open and submit their shares again)`,
  );
}

/**
 * What to do about a ledger a recovery refused. An identity recorded after seqno 1 that is not the
 * previous certificate's is a later service's: a recovery of this ledger that did not finish (its
 * chunks copied with the ledger) or one that opened since.
 */
function recoveryRefusalAdvice(error: LedgerVerificationError, recover: RecoverConfig): string {
  const certificate = `command.recover.previous_service_identity_file (${recover.previousServiceIdentityFile})`;
  const recordedAt = error.txId?.seqno ?? 0;
  if (error.reason === UNTRUSTED_SERVICE_IDENTITY && recordedAt > 1) {
    return (
      `From seqno ${recordedAt} (${error.file}) the ledger is signed under another service identity than ${certificate}: a recovery of this ledger wrote it. ` +
      `If that recovery did not finish, move the chunks from seqno ${recordedAt} on aside and start again; if it did, give that recovered service's certificate as the previous one`
    );
  }
  // Signed from the start under another identity: the certificate given is not this ledger's service's.
  if (error.reason === UNTRUSTED_SERVICE_IDENTITY) {
    return `As ${certificate}, give the certificate of the service that wrote this ledger (its service_cert.pem), or recover the ledger of the service that certificate names`;
  }
  return (
    `A recovery needs the previous service's whole ledger from seqno 1, or one of its committed snapshots in snapshots.directory and the whole ledger after it ` +
    `(a node that joined from a snapshot holds only the ledger after it: copy its snapshots too, or the ledger of a node that holds it all), ` +
    `verified against the previous service's certificate, ${certificate}`
  );
}

/**
 * When a ledger from seqno 1 was refused at an entry that a committed snapshot in
 * snapshots.directory comes after: how to recover from that snapshot instead (a recovery starts
 * from a snapshot only when the ledger does not hold seqno 1, as the node then cannot replay it all).
 */
function snapshotPastRefusal(config: NodeConfig, error: LedgerVerificationError): string | undefined {
  // The refused entry, or, for a chunk that does not parse, the last seqno its name gives.
  const refusedAt = error.txId?.seqno ?? parseChunkName(basename(error.file))?.last;
  if (refusedAt === undefined) return undefined;
  // Read only: a SnapshotDirectory would clear what an earlier run left pending, in an error's advice.
  const name = committedSnapshotNames(config.snapshots.directory)[0];
  const seqno = name === undefined ? undefined : parseSnapshotFileName(name)?.seqno;
  if (seqno === undefined || seqno <= refusedAt) return undefined;
  return (
    `The snapshot ${name} in ${config.snapshots.directory} (snapshots.directory) is of a later seqno, ${seqno}: to recover from it and the ledger after it, ` +
    `move the ledger chunks that end at or before seqno ${seqno} out of ${config.ledgerDirectory}, then start again`
  );
}

/**
 * CCF's Recover: the previous service's ledger, its public domain replayed and verified against the
 * previous service's certificate, becomes a new service's under a new identity; its ledger secrets
 * come back later, from members' recovery shares. The new service's own secret applies from the
 * seqno after the previous service's last signature.
 */
async function recoveryPoint(config: NodeConfig, recover: RecoverConfig, now: Date): Promise<Starting> {
  if (!holdsLedger(config.ledgerDirectory)) {
    throw new CocoError('LedgerMissing', `a recovery starts from the previous service's ledger, but ${config.ledgerDirectory} (ledger.directory) holds none: copy the previous service's ledger files there`);
  }
  const previousServiceCertPem = previousServiceCertificate(recover);
  const encryption = generateRsaKeyPair();
  const { snapshot, refused } = recoverySnapshot(config, previousServiceCertPem);
  let replayed: ReplayedLedger;
  try {
    replayed = replayLedger(config.ledgerDirectory, 'public only', previousServiceCertPem, snapshot, config.ledgerReadOnlyDirectories);
  } catch (error) {
    if (!(error instanceof LedgerVerificationError)) throw error;
    const snapshots = refused.length === 0 ? '' : ` (snapshots refused as starting points: ${refused.join('; ')})`;
    const advice = (snapshot === undefined ? snapshotPastRefusal(config, error) : undefined) ?? recoveryRefusalAdvice(error, recover);
    throw new CocoError('LedgerRefused', `cannot recover the ledger in ${config.ledgerDirectory}${snapshots}: ${error.message}. ${advice}`, { cause: error });
  }
  setAsidePreviousSnapshots(config, replayed.snapshot?.name);
  // The recovered service's entries start a chunk of their own (as CCF's recovery): the previous
  // service's chunks stay whole, and a recovery interrupted before it opens can be set aside.
  const lastChunk = replayed.chunks.at(-1);
  if (lastChunk !== undefined) lastChunk.closesChunk = true;
  const service = createServiceIdentity(now, recover.serviceCertificateValidityDays, config.curve);
  const secrets = new LedgerSecrets([{ fromSeqno: replayed.lastTxId.seqno + 1, key: randomBytes(LEDGER_SECRET_BYTES) }]);
  return { start: { kind: 'recover', replayed, previousServiceCertPem }, service, secrets, nodeKeyPair: generateKeyPair(config.curve), encryptionKeyPair: await encryption, previousServiceCertPem };
}

/** A node with a ledger resumes it; otherwise it starts a service, joins one, or recovers one, as configured. */
async function startingPoint(config: NodeConfig, now: Date): Promise<Starting | JoinerKeys> {
  const sealed = readSealedSecrets(config.sealedSecretsFile);
  if (config.command === 'recover' && recoversNow(config, config.recover!, sealed)) return recoveryPoint(config, config.recover!, now);
  const snapshotName = localSnapshotName(config);
  // A node that sealed its secrets and then wrote a ledger, or started from a snapshot, resumes.
  if (holdsLedger(config.ledgerDirectory) || (sealed !== undefined && snapshotName !== undefined)) {
    if (sealed === undefined) {
      throw new CocoError(
        'LedgerExists',
        `the ledger directory ${config.ledgerDirectory} holds a ledger, but ${config.sealedSecretsFile} (the secrets sealed when it was written) is missing, ` +
          'so this node cannot restart from it; recover the service from it instead (command.type "Recover", docs/node-config.md "Disaster recovery"). ' +
          'Move the ledger aside (or point ledger.directory elsewhere) to start afresh.',
      );
    }
    const secrets = new LedgerSecrets(sealed.ledgerSecrets);
    const resumed = {
      service: { keyPair: sealed.serviceKeyPair, certPem: sealed.serviceCertPem },
      secrets,
      nodeKeyPair: sealed.nodeKeyPair,
      encryptionKeyPair: sealed.nodeEncryptionKeyPair,
      previousServiceCertPem: sealed.previousServiceCertPem,
    };
    const replayed = resumeOwnLedger(config, resumed);
    const snapshot = replayed.snapshot && { name: replayed.snapshot.name, seqno: replayed.snapshot.txId.seqno };
    refuseIfBehindCommitMarker(config, publicKeyId(sealed.nodeKeyPair.publicKeyPem), { lastSeqno: replayed.lastTxId.seqno, ...(snapshot && { snapshot }) });
    // The replay may have taken a rekey's secret the node had no time to seal before it stopped.
    seal(config, resumed);
    return { start: { kind: 'resume', replayed }, ...resumed };
  }
  // A joiner that was trusted but crashed before it wrote any entry asks again with the same keys. A
  // snapshot copied into its directory (CCF's "Join or Recover From Snapshot") is its starting point.
  if (config.command === 'join') {
    // Not one that lost a ledger it had written: it would take part again under its old identity without it.
    if (sealed !== undefined) refuseIfBehindCommitMarker(config, publicKeyId(sealed.nodeKeyPair.publicKeyPem), { lastSeqno: 0 });
    // Read once, before anything is generated: a file that is no certificate is a configuration mistake.
    const serviceCertPem = joinServiceCertificate(config);
    const snapshot = snapshotName === undefined ? undefined : checkSnapshotToJoinFrom(config, serviceCertPem, snapshotName);
    if (sealed !== undefined) return { join: sealed.nodeKeyPair, encryption: sealed.nodeEncryptionKeyPair ?? (await generateRsaKeyPair()), serviceCertPem, snapshot };
    // Kept before the first join request: trusted and stopped before it seals, it asks again as itself.
    const keysPath = joiningKeysPath(config.sealedSecretsFile);
    const kept = readJoiningKeys(keysPath);
    if (kept !== undefined) {
      logLine('info', `coco node: joining with the keys an earlier start of this node joined with (${keysPath}): node ${publicKeyId(kept.nodeKeyPair.publicKeyPem)}`);
      return { join: kept.nodeKeyPair, encryption: kept.encryptionKeyPair, serviceCertPem, snapshot };
    }
    const keys = { nodeKeyPair: generateKeyPair(config.curve), encryptionKeyPair: await generateRsaKeyPair() };
    writeJoiningKeys(keysPath, keys);
    return { join: keys.nodeKeyPair, encryption: keys.encryptionKeyPair, serviceCertPem, snapshot };
  }
  // Sealed secrets with no ledger: this node belonged to a service and lost its data. A new service
  // here would take its place under the same address and overwrite the only copy of those secrets.
  if (sealed !== undefined) {
    throw new CocoError(
      'LedgerMissing',
      `${config.sealedSecretsFile} holds the secrets of the service whose certificate has fingerprint ${certificateId(sealed.serviceCertPem)}, ` +
        `but ${config.ledgerDirectory} holds no ledger and ${config.snapshots.directory} no snapshot: this node's data is lost, and it will not start a new service over it. ` +
        'To bring a node back into that service, give it a Join configuration (command.join) and fresh directories, and have members remove_node the lost identity; ' +
        `if this node never opened a service (a first start that failed), move ${config.sealedSecretsFile} aside and start again.`,
    );
  }
  if (snapshotName !== undefined) {
    throw new CocoError(
      'SnapshotExists',
      `the snapshots directory ${config.snapshots.directory} holds ${snapshotName}, but ${config.sealedSecretsFile} (the secrets sealed with it) is missing, ` +
        'so this node cannot restart from it, and a new service started here would mix its snapshots with it. ' +
        'Move the snapshots aside (or point snapshots.directory elsewhere) to start a new service, or use a Join configuration to join the snapshot\'s service from it.',
    );
  }
  // Read before anything is written: a missing file leaves nothing behind.
  const genesis = readGenesisFiles(config);
  // The RSA key is made on the thread pool while the service identity is made here.
  const encryption = generateRsaKeyPair();
  const service = createServiceIdentity(now, config.start.serviceCertificateValidityDays, config.curve);
  const secrets = new LedgerSecrets([{ fromSeqno: 1, key: randomBytes(LEDGER_SECRET_BYTES) }]);
  // Sealed only just before the genesis transaction (serve()): until the ledger holds it, a failed
  // start must leave nothing that a later start would take for a service whose data is lost.
  const started = { service, secrets, nodeKeyPair: generateKeyPair(config.curve), encryptionKeyPair: await encryption };
  return { start: { kind: 'start' }, genesis, ...started };
}

/**
 * A restarting node's state: the latest committed snapshot in its directory that is sound, and the
 * ledger after it. A damaged or empty one is set aside as `<name>.ignored` (CCF's suffix for files
 * it no longer reads), so that neither this start nor a later one, nor a joiner it would be served
 * to, takes it again, with one warning naming it and why; the next older one is tried, then the
 * ledger alone, as CCF falls back from a snapshot it cannot read to an older one. Only a snapshot
 * refused for its service or secrets stops the start: that points at the sealed file as much.
 */
function resumeOwnLedger(config: NodeConfig, resumed: Omit<Starting, 'start'>): ReplayedLedger {
  const directory = new SnapshotDirectory(config.snapshots.directory);
  const names = directory.committedNames();
  const refused: RefusedSnapshot[] = [];
  for (const [i, name] of names.entries()) {
    let snapshot: LoadedSnapshot;
    try {
      snapshot = loadOwnSnapshot(config, directory, name, resumed.service.certPem, resumed.secrets);
    } catch (error) {
      const previous = error instanceof CocoError && error.code === 'SnapshotServiceMismatch' ? previousServiceSnapshot(directory, name, resumed) : undefined;
      if (previous !== undefined) return replayOwnLedger(config, resumed, previous, refused);
      if (!(error instanceof SnapshotRefused)) throw error;
      const ignored = directory.setAside(name);
      const next = names[i + 1] === undefined ? 'the ledger alone' : `the next older snapshot, ${names[i + 1]}`;
      logLine('warn', `coco node: snapshot ${name} is refused: ${error.reason}; set aside as ${ignored}, trying ${next}`);
      refused.push({ name, setAsideAs: ignored });
      continue;
    }
    return replayOwnLedger(config, resumed, snapshot, refused);
  }
  return replayOwnLedger(config, resumed, undefined, refused);
}

/**
 * The snapshot `name` when it is that of the service this node recovered (the one the recovery
 * started from, until the recovered service writes its own): verified against the previous
 * identity sealed with the node's secrets; its ledger after it ends under the recovered service's
 * identity, which the replay checks. Undefined for any other snapshot.
 */
function previousServiceSnapshot(directory: SnapshotDirectory, name: string, resumed: Omit<Starting, 'start'>): LoadedSnapshot | undefined {
  const previous = resumed.previousServiceCertPem;
  if (previous === undefined) return undefined;
  let snapshot: LoadedSnapshot;
  try {
    snapshot = directory.load(name, previous, resumed.secrets);
  } catch (error) {
    if (error instanceof CocoError && error.code === 'SnapshotServiceMismatch') return undefined;
    throw error;
  }
  logLine('info', `coco node: snapshot ${name} is that of the previous service, which this node recovered: resuming from it, verified against that service's certificate`);
  return snapshot;
}

/**
 * The committed snapshot `name` in the node's directory, checked against the identity and secrets
 * sealed with its ledger. A sound snapshot that does not match them points at the sealed file as
 * much as at the snapshot (a copied node given another's): the error says so, rather than to
 * delete a good backup.
 */
function loadOwnSnapshot(config: NodeConfig, directory: SnapshotDirectory, name: string, serviceCertPem: string, secrets: LedgerSecrets): LoadedSnapshot {
  try {
    // Loading holds the process (a minute or more for millions of keys): the log says what it does.
    // A size it cannot read is left out: the load that follows says why the file is unreadable.
    const bytes = statSync(join(directory.directory, name), { throwIfNoEntry: false })?.size;
    logLine('info', `coco node: loading snapshot ${name}${bytes === undefined ? '' : ` (${(bytes / 1e6).toFixed(1)} MB)`} to resume from`);
    return directory.load(name, serviceCertPem, secrets);
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    const sealedFile = config.sealedSecretsFile;
    if (error.code === 'SnapshotServiceMismatch') {
      throw new CocoError(
        error.code,
        `${error.message}. The service certificate checked is the one in ${sealedFile}: if that file is not the one written with this node's ledger ` +
          `(then the ledger is refused too once the snapshot is moved aside), put that one back; otherwise the snapshot is not this service's: move it aside`,
        { cause: error },
      );
    }
    if (error.code === 'DecryptionFailed') {
      throw new CocoError(
        error.code,
        `${error.message}. The ledger secrets are those in ${sealedFile}, which do not belong to this snapshot's service (or predate its rekey): put back the ${sealedFile} written with this node's ledger and snapshots`,
        { cause: error },
      );
    }
    throw error;
  }
}

function secretReceiver(starting: Omit<Starting, 'start'>, nodeId: string): LedgerSecretReceiver {
  return { nodeId, encryptionPrivateKeyPem: starting.encryptionKeyPair?.privateKeyPem, secrets: starting.secrets };
}

/**
 * Replays the node's own ledger (and the committed chunks it lacks from ledger.read_only_directories),
 * taking the secrets of the rekeys in it; a tampered ledger is refused. `refusedSnapshots` were set
 * aside before (resumeOwnLedger): a ledger that needed one of them says so.
 */
function replayOwnLedger(config: NodeConfig, starting: Omit<Starting, 'start'>, snapshot: LoadedSnapshot | undefined, refusedSnapshots: readonly RefusedSnapshot[] = []): ReplayedLedger {
  try {
    return replayLedger(config.ledgerDirectory, secretReceiver(starting, publicKeyId(starting.nodeKeyPair.publicKeyPem)), starting.service.certPem, snapshot, config.ledgerReadOnlyDirectories);
  } catch (error) {
    if (error instanceof CocoError && error.code === 'LedgerDirectoryEmpty' && refusedSnapshots.length > 0) {
      throw new CocoError(
        'SnapshotInvalid',
        `no snapshot in ${config.snapshots.directory} is sound (${describeRefused(refusedSnapshots)}) and ${config.ledgerDirectory} holds no ledger to start from instead: ` +
          `put back a sound committed snapshot into ${config.snapshots.directory} (this node's own backup, or another node's copy: GET /node/snapshot where SnapshotRead is enabled)`,
      );
    }
    if (!(error instanceof LedgerVerificationError)) throw error;
    throw new CocoError('LedgerRefused', `this node refuses to serve the ledger in ${config.ledgerDirectory}: ${error.message}${ledgerRemedy(error, config, refusedSnapshots)}`);
  }
}

/** A committed snapshot a start refused, and the name it was set aside under. */
interface RefusedSnapshot {
  name: string;
  setAsideAs: string;
}

/** The snapshots a start refused, as its refusal names them: each was named in a warning already. */
function describeRefused(refused: readonly RefusedSnapshot[]): string {
  if (refused.length === 1) return `${refused[0]!.name} was refused and set aside as ${refused[0]!.setAsideAs}`;
  return `${refused.length} snapshots were refused and set aside, each named in a warning above`;
}

/**
 * What an operator can do about a refused ledger: entries missing before its first chunk (a node
 * that started from a snapshot, the snapshot moved aside) come from a snapshot the ledger continues,
 * or the chunks before; those missing between chunks from another node's copies; a damaged chunk is
 * replaced (chunkRemedy).
 */
function ledgerRemedy(error: LedgerVerificationError, config: NodeConfig, refusedSnapshots: readonly RefusedSnapshot[]): string {
  // Another service's ledger: no file of it is damaged, and no peer's copy would do.
  if (error.reason.includes(UNTRUSTED_SERVICE_IDENTITY)) return '';
  if (error.missing === undefined) return chunkRemedy(error.file, config.ledgerDirectory);
  const { from, to } = error.missing;
  const chunks = `the chunks holding seqno ${from} to ${to} (another node's copies: GET /node/ledger-chunk?since=${from} where LedgerChunkRead is enabled)`;
  if (from > 1) return `; put back ${chunks} into ${config.ledgerDirectory} or ledger.read_only_directories`;
  const gone = refusedSnapshots.length === 0 ? 'that is gone' : `that is gone or damaged (${describeRefused(refusedSnapshots)})`;
  return (
    `; the entries before ${basename(error.file)} are missing, as after a start from a snapshot ${gone}: put back into ${config.snapshots.directory} a committed snapshot at or after seqno ${to} ` +
    `(this node's own older one, or another node's copy: GET /node/snapshot where SnapshotRead is enabled), or ${chunks} into ledger.read_only_directories`
  );
}

/**
 * What an operator can do about a damaged chunk file: a committed one is the same on every node, so a
 * peer's copy replaces it. An uncommitted one holds entries this node may have acknowledged to a
 * primary as durable: dropping them could let it vote for a candidate that lacks them (its commit
 * marker refuses that start), so the service's committed chunks from the same seqno replace it.
 */
function chunkRemedy(path: string, ledgerDirectory: string): string {
  const file = basename(path);
  const chunk = parseChunkName(file);
  if (chunk === undefined) return '';
  if (chunk.committed) return `; replace ${file} with another node's copy (GET /node/ledger-chunk/${file} where LedgerChunkRead is enabled) that \`coco ledger verify\` accepts`;
  return (
    `; ${file} is not committed: this node may have acknowledged its entries as durable, so it does not start without them. ` +
    `Fetch the service's committed chunks from seqno ${chunk.first} from a running node (\`coco ledger fetch DIR --url <node> --cacert <service_cert.pem> --since ${chunk.first}\`, where LedgerChunkRead is enabled; ` +
    `if the chunk is still being written there, members' trigger_ledger_chunk commits it), move ${file} and any later chunk out of ${ledgerDirectory}, put the fetched chunks in their place and restart ` +
    '(a node alone, or the last holding these entries, has no other copy of them)'
  );
}

/**
 * A node restarted from its ledger presents the evidence of the code it runs now to the join policy
 * its ledger holds, as a join is checked: members may have withdrawn that code's host data since the
 * node joined (in CCF a restarted node joins again, so is checked the same way). A node that started
 * the service or joined from a snapshot was checked when it was admitted.
 */
function checkJoinPolicy(replayed: ReplayedLedger, quote: QuoteInfo, publicKeyPem: string, version: string): void {
  const tx = replayed.store.beginTransaction();
  try {
    verifyVirtualQuote(quote, publicKeyPem, virtualJoinPolicy(tx));
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    const refusal = `this node runs coco ${version}, whose attestation the join policy in its ledger (to seqno ${replayed.lastTxId.seqno}) refuses: ${error.message}`;
    // Only what members allow can be changed by them; a quote that does not bind the key cannot.
    if (!(error instanceof QuoteNotAllowed)) throw new CocoError('JoinPolicyRefused', refusal);
    throw new CocoError(
      'JoinPolicyRefused',
      `${refusal} on the running service. If they did after this node stopped, start a new node that joins, or run the code this node ran before`,
    );
  } finally {
    tx.abort();
  }
}

/**
 * A node that retired from the service does not start: it would take no part and serve reads frozen
 * at its removal (in CCF a retired node cannot restart either). Its own ledger shows its removal
 * committed, or the service told it so before it stopped. Checked before anything listens, so the
 * operator gets one line and exit 1, not a node that looks ready.
 */
function refuseIfRetired(config: NodeConfig, replayed: ReplayedLedger, nodeId: string): void {
  const retirement = retirementAtRestart(nodeId, replayed, config.consensusStateFile);
  if (retirement === undefined) return;
  throw new CocoError(
    'NodeRetired',
    `this node retired from the service${describeRetirement(retirement)}; a retired node never takes part again. ` +
      `Stop starting it: remove its ledger, snapshots and ${config.sealedSecretsFile} (or its whole directory), or, to add this host back, join the service anew (command.type "Join", empty directories) and have members trust the new node`,
  );
}

function rpcInterfacesInfo(config: NodeConfig): NodeInfo['rpc_interfaces'] {
  return Object.fromEntries(
    Object.entries(config.rpcInterfaces).map(([name, iface]) => [
      name,
      { bind_address: `${iface.bindAddress.host}:${iface.bindAddress.port}`, published_address: iface.publishedAddress, protocol: 'tcp', app_protocol: 'HTTP1' },
    ]),
  );
}

/** Asks the service to admit this node, until it is Trusted; returns what a Trusted node receives. */
async function joinService(config: NodeConfig, serviceCertPem: string, identity: NodeIdentity, request: JoinRequest, log: (line: string) => void): Promise<NonNullable<JoinResponse['network_info']>> {
  const join = config.join!;
  const client = new CocoClient({ url: `https://${join.targetRpcAddress}`, caCertPem: serviceCertPem, certPem: identity.selfSignedCertPem, keyPem: identity.keyPair.privateKeyPem });
  let reported: string | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      let answer: JoinResponse | undefined;
      try {
        const response = await client.request('POST', '/node/join', { body: request, allowError: true });
        if (response.status === 200) {
          answer = response.json<JoinResponse>();
        } else {
          const error = errorOf(response);
          const reason = `${error?.code ?? response.status}: ${error?.message ?? 'no reason given'}`;
          // The service's own code stays at hand (the cause): a joiner fetches a newer snapshot on StartupSeqnoIsOld.
          if (response.status >= 400 && response.status < 500) {
            throw new CocoError('JoinRefused', `the service refused this node: ${reason}`, { cause: new CocoError(error?.code ?? String(response.status), error?.message ?? '') });
          }
          // The reason tells an operator why: a backup that knows no primary, say, which this node may be needed to elect.
          log(`join attempt ${attempt}: the service answered ${response.status} (${reason}); retrying`);
        }
      } catch (error) {
        if (error instanceof CocoError && error.code === 'JoinRefused') throw error;
        log(`join attempt ${attempt}: ${joinTargetFailure(error, config, serviceCertPem)}; retrying`);
      }
      if (answer?.node_status === 'Trusted' && answer.network_info !== undefined) return answer.network_info;
      // Once, not on every attempt: a node may wait hours for its members.
      if (answer !== undefined && answer.node_status !== reported) {
        reported = answer.node_status;
        log(`joined as ${answer.node_id}, ${answer.node_status}: waiting for members to trust this node (transition_node_to_trusted; one the service recorded as Pending while it was Recovering, from a whole ledger, is trusted on its first request after the opening); meanwhile GET /node/state on its interfaces answers "Pending"`);
      }
      await new Promise((resolve) => setTimeout(resolve, join.retryTimeoutMs));
    }
  } finally {
    client.close();
  }
}

/**
 * A server on every RPC interface, as `build` makes it once the interface's session caps count: each
 * interface's URL, and how to close them all. If one cannot listen, those already listening close
 * and ListenFailed says why.
 */
async function listenOnInterfaces(
  config: NodeConfig,
  sessions: SessionCounts,
  build: (name: string, iface: RpcInterfaceConfig) => RpcServer,
): Promise<{ urls: Record<string, string>; close: () => Promise<void> }> {
  const servers: RpcServer[] = [];
  const urls: Record<string, string> = {};
  const close = async () => void (await Promise.all(servers.map((server) => server.close())));
  try {
    for (const [name, iface] of Object.entries(config.rpcInterfaces)) {
      sessions.addInterface(name, iface.sessionCaps);
      const server = build(name, iface);
      const address = await server.listen(iface.bindAddress.host, iface.bindAddress.port);
      servers.push(server);
      urls[name] = `https://${iface.bindAddress.host}:${address.port}`;
    }
  } catch (error) {
    await close();
    throw new CocoError('ListenFailed', `cannot listen on the configured RPC interfaces: ${(error as Error).message}`);
  }
  return { urls, close };
}

/** Listens on every RPC interface with what a joiner serves until it is trusted (pending-endpoints.ts). */
async function servePending(config: NodeConfig, node: PendingNode, keyPem: string): Promise<{ stop: () => Promise<void> }> {
  const sessions = new SessionCounts();
  const { close } = await listenOnInterfaces(config, sessions, (name, iface) => {
    const server = new RpcServer({ keyPem, certPem: node.selfSignedCertPem, ...iface.http, acceptedEndpoints: iface.acceptedEndpoints, closedFrontends: { frontends: ['app', 'gov'], reason: PENDING_REASON }, sessions, interfaceName: name });
    addPendingEndpoints(server, node);
    return server;
  });
  return { stop: close };
}

/**
 * The configuration of a node that resumes from its ledger, checked against its record there: the
 * other nodes dial, and redirect clients to, the addresses it published when it joined (CCF fixes
 * them in the node's info too). A port 0 takes the port it recorded; any other change is refused.
 */
async function withRecordedAddresses(configured: NodeConfig, record: NodeInfo): Promise<NodeConfig> {
  const recordedRpc = rpcBindAddresses(record);
  const rpcInterfaces = Object.fromEntries(Object.entries(configured.rpcInterfaces).map(([name, iface]) => [name, withRecordedPort(iface, recordedRpc.get(name))] as const));
  const config = await withFreePorts({ ...configured, rpcInterfaces, nodeToNode: withRecordedPort(configured.nodeToNode, record.node_to_node_interface?.bind_address) });
  const changes = publishedAddressChanges(record, {
    nodeToNode: config.nodeToNode.publishedAddress,
    rpc: new Map(Object.entries(config.rpcInterfaces).map(([name, iface]) => [name, iface.publishedAddress])),
  });
  if (changes.length > 0) {
    throw new CocoError(
      'NodeAddressesChanged',
      `this node resumes from its ledger, where its record holds other published addresses than its configuration: ${changes.join(', ')}. ` +
        "A node's addresses cannot change on restart (the other nodes dial the recorded ones): restore them in the configuration, " +
        'or start a new node that joins the service (command.type "Join", empty ledger and snapshot directories) and have members remove this one (remove_node)',
    );
  }
  return config;
}

/** `iface` with port 0 replaced by the port of `recordedBindAddress` (on the same host), in its bind and published addresses. */
function withRecordedPort<T extends InterfaceAddresses>(iface: T, recordedBindAddress: string | undefined): T {
  const recorded = recordedBindAddress === undefined ? undefined : hostAndPort(recordedBindAddress);
  if (iface.bindAddress.port !== 0 || recorded === undefined || recorded.host !== iface.bindAddress.host) return iface;
  return { ...iface, bindAddress: { ...iface.bindAddress, port: recorded.port }, publishedAddress: iface.publishedAddress.replace(/:0$/, `:${recorded.port}`) };
}

/**
 * `iface` with port 0 (any free port) replaced by a free port in its bind address, and a published
 * port 0 by the port it binds, as CCF publishes the port it listens on.
 */
async function withFreePort<T extends InterfaceAddresses>(iface: T): Promise<T> {
  const port = iface.bindAddress.port === 0 ? await freePort(iface.bindAddress.host) : iface.bindAddress.port;
  return { ...iface, bindAddress: { ...iface.bindAddress, port }, publishedAddress: iface.publishedAddress.replace(/:0$/, `:${port}`) };
}

/**
 * The configuration with every port 0 resolved: a node publishes its addresses (in the nodes table,
 * in its join request) before it listens, and other nodes redirect and connect to what it published.
 */
async function withFreePorts(config: NodeConfig): Promise<NodeConfig> {
  const rpcInterfaces = Object.fromEntries(await Promise.all(Object.entries(config.rpcInterfaces).map(async ([name, iface]) => [name, await withFreePort(iface)] as const)));
  return { ...config, rpcInterfaces, nodeToNode: await withFreePort(config.nodeToNode) };
}

export async function startNodeService(requested: NodeConfig, version: string): Promise<RunningService> {
  // First, before anything is read or bound: a second start of a running node's configuration (it
  // used to load the snapshot, fail to bind, and delete the running node's pid file).
  if (requested.pidFile !== undefined) refuseIfNodeRunning(requested.pidFile);
  // So is one with no pid file, or another, on the same ledger: a recovery's restart renames files (QA).
  refuseIfLedgerInUse(requested.ledgerDirectory);
  const configured = withSessionCapsWithinOpenFiles(requested, (line) => logLine('warn', `coco node: ${line}`));
  await refuseSharedResolvedBindAddresses(configured);
  // Then, before anything of a service is written: a pid file that cannot be written stops the node
  // with nothing to clean up (it used to fail after genesis, leaving a service that a rerun resumed).
  if (configured.pidFile !== undefined) writeOutputFile(configured.pidFile, `${process.pid}\n`, 'the pid file (output_files.pid_file)');
  // What startConfigured opened before the node itself owns it (it then stops it on failure).
  const undoOnFailure: (() => Promise<void>)[] = [];
  try {
    return await startConfigured(configured, version, undoOnFailure);
  } catch (error) {
    for (const undo of undoOnFailure.reverse()) await undo();
    // A node that did not start leaves no pid file naming a process that is gone (one rewritten since is another's).
    if (configured.pidFile !== undefined) removeOwnPidFile(configured.pidFile);
    throw error;
  }
}

/**
 * The interfaces' bind addresses compared as listen resolves their hosts (parsing compared them as
 * written): `localhost:P` beside `127.0.0.1:P` is refused here, naming both, before the node writes
 * anything, rather than by the second listen once the service exists. A host that does not resolve
 * could not be listened on either.
 */
async function refuseSharedResolvedBindAddresses(config: NodeConfig): Promise<void> {
  const resolved = await Promise.all(bindAddresses(config).map(async (bound) => {
    try {
      return { ...bound, address: (await lookup(bound.host)).address };
    } catch (error) {
      throw invalidConfig(bound.path, `cannot resolve "${bound.host}" (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): give an address of this machine, or a name that resolves to one`);
    }
  }));
  refuseSharedBindAddresses(resolved);
}

/** Starts the node `configured` describes, its pid file written; what it opens first, it adds to `undoOnFailure`. */
async function startConfigured(configured: NodeConfig, version: string, undoOnFailure: (() => Promise<void>)[]): Promise<RunningService> {
  const now = new Date();
  const log = new BufferedLog();
  checkReadOnlyDirectories(configured);
  prepareDirectories(configured);
  // Hosts only: the ports (port 0 resolved below) are in no certificate.
  const sans = nodeSubjectAltNames(configured);
  const point = await startingPoint(configured, now);
  const nodeIdentity = createNodeIdentity(sans, now, configured.nodeCertificateValidityDays, configured.curve, 'join' in point ? point.join : point.nodeKeyPair);
  const quoteInfo = virtualQuote(nodeIdentity.keyPair.publicKeyPem, hostData(version));
  let record: NodeInfo | undefined;
  if ('start' in point && point.start.kind === 'resume') {
    checkJoinPolicy(point.start.replayed, quoteInfo, nodeIdentity.keyPair.publicKeyPem, version);
    refuseIfRetired(configured, point.start.replayed, nodeIdentity.nodeId);
    record = readNodeRecords(point.start.replayed.store).get(nodeIdentity.nodeId);
  }
  // A node resuming from its ledger keeps the addresses it recorded; any other takes free ports for port 0.
  const config = record === undefined ? await withFreePorts(configured) : await withRecordedAddresses(configured, record);
  const nodeToNodePort = config.nodeToNode.bindAddress.port;
  // Bound before a joiner asks to join, and before a new service seals its secrets: a port another
  // process holds stops it here, with nothing recorded, not once members trust it (it would then be
  // a voter that never answers) nor with secrets sealed that a later start reads as a lost service.
  const listener = await NodeListener.bind(config.nodeToNode.bindAddress.host, nodeToNodePort);
  undoOnFailure.push(() => listener.close());
  const encryptionKeyPair = 'join' in point ? point.encryption : point.encryptionKeyPair;
  const nodeToNodeInterface = { bind_address: `${config.nodeToNode.bindAddress.host}:${nodeToNodePort}`, published_address: config.nodeToNode.publishedAddress };
  const nodeInfo: NodeInfo = {
    status: 'Trusted',
    node_data: {},
    public_key: nodeIdentity.keyPair.publicKeyPem,
    ...(encryptionKeyPair && { encryption_pub_key: encryptionKeyPair.publicKeyPem }),
    certificate_signing_request: nodeIdentity.csrPem,
    quote_info: quoteInfo,
    rpc_interfaces: rpcInterfacesInfo(config),
    node_to_node_interface: nodeToNodeInterface,
  };

  let starting: Starting;
  let endorsedNodeCertPem: string;
  let knownPeerAddresses: Map<string, string> | undefined;
  if ('join' in point) {
    const pendingNode: PendingNode = { nodeId: nodeIdentity.nodeId, version, quoteInfo, selfSignedCertPem: nodeIdentity.selfSignedCertPem, startupSeqno: 0 };
    const pending = await servePending(config, pendingNode, nodeIdentity.keyPair.privateKeyPem);
    let snapshot: JoinSnapshot | undefined;
    let info: NonNullable<JoinResponse['network_info']>;
    try {
      const log = (line: string) => logLine('info', `coco node: ${line}`);
      // Chosen before the join: the primary refuses a joiner starting before its own log (startup_seqno).
      snapshot = await snapshotToJoinFrom(config, point.serviceCertPem, nodeIdentity, point.snapshot, log);
      pendingNode.startupSeqno = snapshot?.seqno ?? 0;
      for (;;) {
        try {
          info = await joinService(config, point.serviceCertPem, nodeIdentity, {
            node_info_network: { rpc_interfaces: nodeInfo.rpc_interfaces, node_to_node_interface: nodeToNodeInterface },
            quote_info: quoteInfo,
            certificate_signing_request: nodeIdentity.csrPem,
            public_encryption_key: point.encryption.publicKeyPem,
            node_data: {},
            startup_seqno: snapshot?.seqno ?? 0,
          }, (line) => logLine('warn', `coco node: ${line}`));
          break;
        } catch (error) {
          // As CCF's joiner: refused for starting before the primary's log (it started from a snapshot
          // since, say a recovered service's first), it fetches the service's snapshot again.
          const tooOld = error instanceof CocoError && error.cause instanceof CocoError && error.cause.code === 'StartupSeqnoIsOld';
          const newer = tooOld ? await snapshotToJoinFrom(config, point.serviceCertPem, nodeIdentity, snapshot, log) : undefined;
          if (newer === undefined || newer.seqno <= (snapshot?.seqno ?? 0)) throw error;
          logLine('warn', `coco node: the service refused to replicate to this node from seqno ${snapshot?.seqno ?? 0}; asking to join again from snapshot ${newer.name}`);
          snapshot = newer;
          pendingNode.startupSeqno = newer.seqno;
        }
      }
    } finally {
      await pending.stop();
    }
    const service = { keyPair: { privateKeyPem: info.identity.priv_key, publicKeyPem: info.identity.pub_key }, certPem: info.identity.cert };
    const secrets = new LedgerSecrets(info.ledger_secrets.map((s) => ({ fromSeqno: s.from_seqno, key: fromBase64(s.key) })));
    // Only the ledger after the snapshot is replicated; its contents are checked now that the secrets are here.
    const loaded = snapshot && verifySnapshotFile(snapshot.name, snapshot.bytes, service.certPem, secrets);
    if (snapshot?.fetched) await new SnapshotDirectory(config.snapshots.directory).keep(snapshot.name, snapshot.bytes);
    const joined = { service, secrets, nodeKeyPair: point.join, encryptionKeyPair: point.encryption };
    seal(config, joined);
    removeJoiningKeys(joiningKeysPath(config.sealedSecretsFile));
    const start: NodeStart = loaded === undefined ? { kind: 'join' } : { kind: 'resume', replayed: replayOwnLedger(config, joined, loaded) };
    starting = { start, ...joined };
    endorsedNodeCertPem = info.endorsed_certificate;
    knownPeerAddresses = new Map(Object.entries(info.node_to_node_addresses ?? {}));
  } else {
    starting = point;
    // A node resuming keeps the certificate members endorsed for it, while it is in date.
    const recorded = point.start.kind === 'resume' ? recordedCertificate(point.start.replayed.store.beginTransaction(), nodeIdentity.nodeId, point.service.certPem, now.getTime()) : undefined;
    if (recorded !== undefined) {
      endorsedNodeCertPem = recorded;
    } else if (point.start.kind === 'resume') {
      const tx = point.start.replayed.store.beginTransaction();
      const window = restartCertificateWindow(now, lastSignatureTime(tx), config.nodeCertificateValidityDays, readServiceConfig(tx)?.maximum_node_certificate_validity_days);
      if (window.clockWarning !== undefined) logLine('warn', `coco node: ${window.clockWarning}`);
      endorsedNodeCertPem = endorseNode(nodeIdentity, point.service, sans, window.validFrom, window.validityDays);
      const issued = new X509Certificate(endorsedNodeCertPem);
      logLine('info', `coco node: no node certificate in date recorded for this node; issued one valid from ${issued.validFrom} to ${issued.validTo}`);
    } else {
      endorsedNodeCertPem = endorseNode(nodeIdentity, point.service, sans, now, config.nodeCertificateValidityDays);
    }
  }
  const { service, secrets } = starting;

  // The channels exist before the node (it sends through them); frames wait until it does.
  const created: { node?: Node; forwarder?: RequestForwarder } = {};
  const serviceClock = new ServiceClock(() => Date.now(), () => performance.now());
  // The other nodes of the configurations this node knows: theirs and its own clocks make the service's.
  const clockPeers = (): string[] => [...new Set((created.node?.configurations ?? []).flat())].filter((id) => id !== nodeIdentity.nodeId);
  const serviceNowMs = (): number => serviceClock.nowMs(clockPeers());
  const channels = new NodeChannels({
    selfId: nodeIdentity.nodeId,
    keyPem: nodeIdentity.keyPair.privateKeyPem,
    certPem: endorsedNodeCertPem,
    serviceCertPem: service.certPem,
    host: config.nodeToNode.bindAddress.host,
    port: nodeToNodePort,
    listener,
    // Nodes of the configuration, Trusted nodes, the primary this node follows (a retiring one is in
    // neither once its removal committed, and still sends the commit and its nomination of a
    // successor). A node the state does not record is heard only while this node follows no primary:
    // a node whose state lags (restarted after the others were replaced, or started from an older
    // snapshot) knows neither the nodes that joined since nor their configuration, and must hear the
    // new primary to catch up; a node that follows a primary has no need to hear strangers (every
    // host that ran a node holds the service key, with which it can endorse identities of its own).
    // A joiner, until its state records the nodes, hears only from those its join response listed
    // (the Trusted ones): not a retired node whose files someone kept.
    authorize: (peer) => {
      const node = created.node;
      if (node === undefined) return false;
      if (isKnownPeer(node, peer) || node.role.leaderId === peer || knownPeerAddresses?.has(peer) === true) return true;
      if (readNodeRecords(node.store).has(peer)) return false;
      if (node.configurations.length === 0) return knownPeerAddresses === undefined;
      return node.role.leaderId === undefined;
    },
    onFrame: (from, kind, payload) => {
      const node = created.node;
      if (node === undefined) return;
      // From a node the state does not record (see authorize), only consensus, or what the primary it follows answers.
      if (kind !== RAFT_FRAME && !isKnownPeer(node, from) && node.role.leaderId !== from) return;
      if (kind === FORWARDED_REQUEST_FRAME || kind === FORWARDED_RESPONSE_FRAME) {
        try {
          created.forwarder?.receive(from, kind, payload);
        } catch (error) {
          log.line('error', `dropped a forwarded message from ${from.slice(0, 12)}: ${(error as Error).message}`);
        }
        return;
      }
      if (kind === CLOCK_FRAME) {
        try {
          serviceClock.record(from, decodeClockReading(payload));
        } catch (error) {
          log.line('error', `dropped a clock reading from ${from.slice(0, 12)}: ${(error as Error).message}`);
        }
        return;
      }
      if (kind !== RAFT_FRAME) return;
      try {
        const message = decodeRaftMessage(payload) as { from?: unknown };
        if (message.from !== from) throw new CocoError('InvalidConsensusMessage', `a message from ${from} claims to come from ${String(message.from)}`);
        node.receive(message);
      } catch (error) {
        log.line('error', `dropped a consensus message from ${from.slice(0, 12)}: ${(error as Error).message}`);
      }
    },
    log: (line, level = 'info') => log.line(level, line),
  });
  const tickMs = Math.max(1, Math.floor(config.consensus.messageTimeoutMs / TICKS_PER_MESSAGE_TIMEOUT));
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  const running = new Node({
    node: nodeIdentity,
    service,
    endorsedNodeCertPem,
    nodeInfo,
    ledgerDirectory: config.ledgerDirectory,
    ledgerReadOnlyDirectories: config.ledgerReadOnlyDirectories,
    consensusStateFile: config.consensusStateFile,
    ledgerChunkBytes: config.ledgerChunkBytes,
    historicalCacheSoftLimitBytes: config.historicalCacheSoftLimitBytes,
    signatureTxCount: config.signatureTxCount,
    signatureDelayMs: config.signatureDelayMs,
    maxUncommittedTxCount: config.consensus.maxUncommittedTxCount,
    consensus: { tickMs, heartbeatTicks: TICKS_PER_MESSAGE_TIMEOUT, electionTimeoutTicks: Math.max(TICKS_PER_MESSAGE_TIMEOUT + 1, Math.round(config.consensus.electionTimeoutMs / tickMs)) },
    transport: {
      send: (message) => channels.send(message.to, RAFT_FRAME, encodeRaftMessage(message)),
      setPeers: (peers) => channels.setPeers(peers),
    },
    nowMs: () => performance.now(),
    // The time in its signatures: the service's, which one host's wrong clock does not move.
    wallClockMs: serviceNowMs,
    eventLoopBusyShare: eventLoopBusyShareSince(),
    ledgerSecrets: secrets,
    ...(starting.encryptionKeyPair && { encryptionKeyPair: starting.encryptionKeyPair }),
    persistLedgerSecrets: () => seal(config, starting),
    start: starting.start,
    snapshots: config.snapshots,
    ...(knownPeerAddresses && { knownPeerAddresses }),
    onFailure: (error) => reportFailure(error),
  });
  created.node = running;
  // What has started so far, stopped newest first: by stop(), or as soon as a later step fails, so
  // that a node that cannot start ends (no timer, connection or listener left behind).
  const started: (() => unknown)[] = [() => channels.close(), () => running.stop()];
  const stopAll = async () => {
    for (const stop of started.splice(0).reverse()) await stop();
    log.flush();
  };
  try {
    return await serve();
  } catch (error) {
    await stopAll();
    throw error;
  }

  async function serve(): Promise<RunningService> {
    await channels.listen();
    const ethereumTurns = { sliceMs: REQUEST_SLICE_MS, nowMs: () => performance.now(), nextTurn: () => setImmediatePromise() };
    const chain = ethereumChain(running, config, version, ethereumTurns, () => channels.connectedPeers, serviceNowMs);
    // A request's elements share one execution time limit, as one call has: a batch is no way around it.
    const jsonRpcTurns = { ...ethereumTurns, requestTimeMs: config.ethereum.maxExecutionMs };
    const forwarder = new RequestForwarder(channels, running, (body) => handleJsonRpc(body, chain.methods(), jsonRpcTurns), { answerWithinMs: FORWARDED_SEND_ANSWER_MS });
    created.forwarder = forwarder;
    started.push(() => forwarder.close());

    const rsaKeyPairs = new RsaKeyPairPool(eventLoopHoldMaxMs(config.consensus.electionTimeoutMs));
    started.push(() => rsaKeyPairs.stop());
    const jsHost: JsHost = {
      monotonicMs: () => performance.now(),
      untrustedNowMs: () => Date.now(),
      log: (level, message) => log.line(level, message),
      consensus: {
        lastCommittedTxId: () => running.commitTxId,
        statusForTxId: (txId) => running.status(txId),
        viewForSeqno: (seqno) => (seqno >= 1 && seqno <= running.lastTxId.seqno ? running.viewOf(seqno) : null),
      },
      historical: new HistoricalRanges(running, () => Date.now()),
      rsaKeyPairs,
    };
    const jsTimeCapMs = eventLoopHoldMaxMs(config.consensus.electionTimeoutMs);
    const runner = await JsConstitutionRunner.create(
      jsHost,
      running.governanceHost(),
      { maxExecutionTimeMs: Math.min(DEFAULT_JS_LIMITS.maxExecutionTimeMs, jsTimeCapMs) },
    );
    started.push(() => runner.dispose());
    if (starting.genesis !== undefined) {
      const { members, constitution } = starting.genesis;
      // A constitution that cannot run would refuse every proposal, the one replacing it included.
      running.execute((tx) => ({ result: runner.checkConstitution(tx, constitution), applyWrites: false }));
      // The service's Ethereum settings: the configuration's, defaults filled in, for every node after.
      const chainSettings = resolveChainSettings(config.ethereum, undefined);
      const adapterWrites = (tx: Transaction) => writeChainSettings(tx, chainSettings);
      // The ledger about to be written needs these secrets to restart; nothing before it did.
      seal(config, starting);
      running.genesis({ members, constitution, recoveryThreshold: config.start.recoveryThreshold, configuration: config.start.serviceConfiguration, serviceData: config.start.serviceData, adapterWrites, coseSignatures: config.start.coseSignatures });
      if (config.ethereum.genesisAccounts.length > 0) {
        running.execute((tx) => {
          for (const { address, balance } of config.ethereum.genesisAccounts) setBalance(tx, ethereumMaps(chainSettings.publicState), fromHex(address.slice(2)), balance);
          return { result: undefined, applyWrites: true };
        });
      }
    }
    // The service's COSE claims were set at genesis: a Start configuration changed since is not used.
    if (starting.genesis === undefined && config.command === 'start') {
      const recorded = recordedCoseSignatureClaims(running.store.beginTransaction()) ?? NO_COSE_SIGNATURE_CLAIMS;
      const configured = config.start.coseSignatures;
      if (recorded.issuer !== configured.issuer || recorded.subject !== configured.subject) {
        logLine('warn', `coco node: command.start.cose_signatures (${JSON.stringify(configured)}) is not what the service recorded when it started (${JSON.stringify(recorded)}): its signatures go on naming the recorded ones`);
      }
    }
    if (starting.start.kind === 'recover') {
      seal(config, starting);
      const created = running.recoveryCreate();
      logLine('info', `coco node: recovering the service of ${config.ledgerDirectory} (public state to seqno ${created.seqno - 1}) as ${formatTxId(created)} under a new identity (written to ${config.serviceCertificateFile}); ` +
        'members now propose transition_service_to_open with the previous and the new service certificates, then submit their recovery shares');
    }
    // A new service, or a recovered one, has a new identity for its clients to trust.
    const newIdentity = starting.genesis !== undefined || starting.start.kind === 'recover';
    if (newIdentity) writeOutputFile(config.serviceCertificateFile, service.certPem, 'the service certificate (command.service_certificate_file)');
    const governance = new Governance(runner);
    const app = new AppRuntime(jsTimeCapMs, (level, line) => log.line(level, line));
    started.push(() => app.dispose());
    const sessions = new SessionCounts();
    const jwtRefresh = new JwtKeyRefresh(running, config.jwtKeyRefreshIntervalMs, (level, line) => log.line(level, line));
    jwtRefresh.start();
    started.push(() => jwtRefresh.stop());
    started.push(watchDescriptors((line) => log.line('warn', `coco node: ${line}`)));
    const retirement = new RetirementCheck(running, service.certPem, config.consensus.electionTimeoutMs, (line) => log.line('info', line), config.join?.targetRpcAddress);
    started.push(() => retirement.stop());
    // Holding the service's state, the node serves its chain from the start, or refuses to start (a
    // configuration that disagrees with the service); a joiner finds out once it has caught up.
    if (!(await chain.settle())) started.push(chain.watch((error) => refuseToServe(error, log, reportFailure)));
    const servers: RpcServer[] = [];
    const { urls, close } = await listenOnInterfaces(config, sessions, (name, iface) => {
      const primaryUrl = () => primaryInterfaceUrl(running, name);
      const server = new RpcServer({
        keyPem: nodeIdentity.keyPair.privateKeyPem,
        certPem: endorsedNodeCertPem,
        ...iface.http,
        acceptedEndpoints: iface.acceptedEndpoints,
        currentTxId: () => running.lastTxId,
        checkAppOpen: appFrontendCheck(running),
        appDefines: appEndpointLookup(running),
        appFallback: appRequestHandler(running, app, jsHost, () => Math.floor(Date.now() / 1000), { primaryUrl, backupUrl: () => backupInterfaceUrl(running, name) }),
        primaryUrl,
        afterRequest: () => running.keepTime(),
        sessions,
        interfaceName: name,
      });
      addBuiltinEndpoints(server, running, {
        version,
        primaryUrl,
        interfaceName: name,
        operatorFeatures: iface.enabledOperatorFeatures,
        sessions,
        appRuntime: app,
        selfSignedCertPem: nodeIdentity.selfSignedCertPem,
        quoteInfo,
        jwtRefreshMetrics: jwtRefresh.metrics,
      });
      addGovEndpoints(server, running, governance);
      addEthereumEndpoints(server, running, {
        methods: () => chain.methods(),
        nowSeconds: () => Math.floor(Date.now() / 1000),
        turns: jsonRpcTurns,
        forward: (body) => forwarder.forward(body),
      });
      addJoinEndpoint(server, running, {
        service,
        secrets,
        primaryUrl,
        endorse: (csrPem) => endorseNode({ csrPem }, service, undefined, new Date(), config.nodeCertificateValidityDays),
      });
      servers.push(server);
      return server;
    });
    started.push(close);
    // A certificate members renewed (set_node_certificate_validity) is served once committed.
    let servedCertPem = endorsedNodeCertPem;
    const startedAtSeqno = running.lastTxId.seqno;
    let reportedCertPem: string | undefined;
    const renewalCheck = setInterval(() => {
      // A node that stopped applying transactions reads nothing (it is about to end).
      if (!running.serving) return;
      const renewal = renewedCertificate(running, servedCertPem, startedAtSeqno, serviceNowMs());
      if (renewal === undefined) return;
      if (renewal.notServed !== undefined) {
        // Said once per record: the check repeats every tick (and serves it once its period begins).
        if (reportedCertPem !== renewal.certPem) log.line('info', renewal.notServed);
        reportedCertPem = renewal.certPem;
        return;
      }
      const renewed = renewal.certPem;
      for (const server of servers) server.setCertificate(renewed);
      channels.setCertificate(renewed);
      running.signWithCertificate(renewed);
      servedCertPem = renewed;
      log.line('info', `serving the node certificate renewed by governance, valid to ${new X509Certificate(renewed).validTo}`);
    }, CERTIFICATE_RENEWAL_CHECK_MS);
    started.push(() => clearInterval(renewalCheck));
    let skewReportedAtMs = -Infinity;
    const clockShare = setInterval(() => {
      const peers = clockPeers();
      const reading = encodeClockReading(Date.now());
      // Only over channels open now: a reading queued behind a broken one would arrive stale.
      for (const peer of peers) if (channels.isConnected(peer)) channels.send(peer, CLOCK_FRAME, reading);
      const warning = clockSkewWarning(serviceClock.ownSkewMs(peers));
      if (warning === undefined) skewReportedAtMs = -Infinity;
      else if (performance.now() - skewReportedAtMs >= CLOCK_SKEW_REPORT_REPEAT_MS) {
        log.line('warn', `coco node: ${warning}`);
        skewReportedAtMs = performance.now();
      }
    }, CLOCK_SHARE_INTERVAL_MS);
    started.push(() => clearInterval(clockShare));
    return { node: running, urls, serviceCertPem: service.certPem, wroteServiceCertificate: newIdentity, failed, stop: stopAll };
  }
}

/** Whether `peer` is of this node's configurations, or a Trusted node of its state. */
function isKnownPeer(node: Node, peer: string): boolean {
  return node.configurations.some((c) => c.includes(peer)) || readNodeRecords(node.store).get(peer)?.status === 'Trusted';
}

/** The Ethereum chain the node serves, its methods built on the service's settings once the node holds them (ServiceChain). */
function ethereumChain(node: Node, config: NodeConfig, version: string, writeTurns: JobTurns, peerCount: () => number, serviceNowMs: () => number): ServiceChain {
  return new ServiceChain(node, config.ethereum, async (settings) => {
    const context = await ExecutionContext.create({
      ...settings,
      // Block timestamps never decrease: one host's clock ahead would hold every later block there.
      clock: () => Math.floor(serviceNowMs() / 1000),
      timeLimit: { maxExecutionMs: config.ethereum.maxExecutionMs, monotonicMs: () => performance.now() },
    });
    return ethereumMethods(new NodeEthereumBackend(node), context, { clientVersion: `Coco/${version}`, writeTurns, peerCount });
  }, (line) => logLine('warn', `coco node: ${line}`));
}

/** A joiner whose configuration disagrees with the service's Ethereum settings stops, in one line, as a start would have refused. */
function refuseToServe(error: Error, log: BufferedLog, reportFailure: (error: Error) => void): void {
  log.line('error', `coco: ${error.message}${error instanceof CocoError ? ` [${error.code}]` : ''}`);
  reportFailure(error);
}

/** The published address of interface `name` on a Trusted node other than the primary, picked at random as CCF does. */
function backupInterfaceUrl(node: Node, name: string): string | undefined {
  const primary = node.role.leaderId;
  const urls = [...readNodeRecords(node.store)]
    .filter(([id, info]) => id !== primary && info.status === 'Trusted')
    .flatMap(([, info]) => rpcInterfaceUrl(info, name) ?? []);
  return urls.length === 0 ? undefined : urls[Math.floor(Math.random() * urls.length)];
}

/**
 * The primary's published address for the interface `name`, as the nodes table records it. A
 * primary that records no interface of that name is a configuration mistake, not a primary that
 * is unknown: the request is refused saying so (every caller asks while answering a request).
 */
function primaryInterfaceUrl(node: Node, name: string): string | undefined {
  const primary = node.role.leaderId;
  // A retiring primary refuses writes: sending them back to it would loop (the client waits and asks again).
  if (primary === undefined || primary === node.nodeId) return undefined;
  const record = readNodeRecords(node.store).get(primary);
  if (record === undefined) return undefined;
  const mismatch = interfaceNameMismatch(name, record, 'primary');
  if (mismatch !== undefined) throw new RpcError(500, 'InternalError', `this node cannot redirect to the primary: ${mismatch}`);
  return rpcInterfaceUrl(record, name);
}
