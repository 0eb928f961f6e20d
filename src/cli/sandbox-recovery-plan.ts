// `coco sandbox --recover` moves a workspace's nodes aside and starts a new node 0 on a copy of a
// ledger; a crash or Ctrl-C may stop it anywhere. The workspace records the recovery (recovery.json)
// once the previous certificate is kept and before any node moves, and running --recover again
// finishes it: the previous service's nodes not moved yet are moved, and what an interrupted attempt
// made (its node 0 and joiners, a recovered service that never reported ready) is set aside whole,
// so that the recovery starts again from the previous service's untouched ledgers. (Resuming the
// attempt instead could leave a service that cannot elect: a joiner trusted before the crash is a
// voter that can vote only once it has joined, and it can join only through a primary.) A plain
// start refuses the workspace meanwhile: its nodes are elsewhere, and sandbox_common's service
// certificate may already be an attempt's.

import { copyFileSync, cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CocoError } from '../errors.js';
import { verifySnapshotReceipt } from '../ledger/committed-snapshot.js';
import { commitMarkerPath, readCommitMarker } from '../node/commit-marker-file.js';
import { writeFileDurably } from '../node/durable-file.js';
import { holdsLedger, listChunkFiles } from '../node/ledger-directory.js';
import { makeDirectory } from '../node/make-directory.js';
import { committedSnapshotNames } from '../node/snapshot-directory.js';
import { nodeDirs } from './sandbox-nodes.js';

const PLAN_FILE = 'recovery.json';

export interface RecoveryPlan {
  /** previous_service_<n> in the workspace (recorded by name: a copied workspace has its own). */
  previous: string;
  /** The previous service's node directories (sandbox_<i>), node 0 first. */
  nodes: string[];
  /** The node whose ledger is recovered: the one that committed the most (its commit marker). */
  source: string;
  committedSeqno: number;
  /**
   * When the source joined from a snapshot (its ledger starts after seqno 1): a node whose ledger
   * starts at seqno 1, whose committed chunks before the source's first one complete it.
   */
  beginning?: string;
}

/** The recovery `workspace` records as begun and not finished, if any. */
export function readRecoveryPlan(workspace: string): RecoveryPlan | undefined {
  const path = join(workspace, PLAN_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const plan = JSON.parse(readFileSync(path, 'utf8')) as Partial<RecoveryPlan>;
    if (typeof plan.previous !== 'string' || !Array.isArray(plan.nodes) || typeof plan.source !== 'string' || typeof plan.committedSeqno !== 'number') throw new Error('fields are missing');
    if (!/^previous_service_\d+$/.test(plan.previous)) throw new Error(`"previous" is ${JSON.stringify(plan.previous)}, not the name of a previous_service_<n> directory of the workspace`);
    return { previous: join(workspace, plan.previous), nodes: plan.nodes.map(String), source: plan.source, committedSeqno: plan.committedSeqno, ...(typeof plan.beginning === 'string' && { beginning: plan.beginning }) };
  } catch (error) {
    throw new CocoError('SandboxRecoveryUnreadable', `cannot read ${path}, the record of a recovery begun on this workspace: ${(error as Error).message}; the previous service's nodes are in the workspace's previous_service_<n>/ directories`);
  }
}

/** The error of a plain start on a workspace whose recovery has not finished. */
export function unfinishedRecoveryError(workspace: string, plan: RecoveryPlan): CocoError {
  return new CocoError(
    'SandboxRecoveryUnfinished',
    `${workspace} holds a recovery that did not finish (the previous service's nodes are in ${plan.previous}): run coco sandbox --recover (npm start -- --recover) on it again to finish it`,
  );
}

/** The first seqno of the chunks in `directory`; undefined when it holds none. */
function firstSeqnoHeld(directory: string): number | undefined {
  if (!holdsLedger(directory)) return undefined;
  return Math.min(...listChunkFiles(directory, { allowEmpty: true }).map((file) => file.chunk.first));
}

/**
 * The node whose ledger committed the most (first of equals) and, when its ledger starts after
 * seqno 1 (it joined from a snapshot), one whose ledger starts there: a recovery replays the
 * whole ledger. Chunks end at the same seqnos on every node (the primary marks where), so the
 * latter's committed chunks before the former's first one fit before it.
 */
function ledgerToRecover(workspace: string, dirs: readonly string[]): { source: string; seqno: number; beginning?: string } {
  const seqnos = dirs.map((dir) => (holdsLedger(join(dir, 'ledger')) ? (readCommitMarker(commitMarkerPath(join(dir, 'consensus_state.json')))?.seqno ?? 0) : -1));
  const best = seqnos.indexOf(Math.max(...seqnos));
  const source = dirs[best]!;
  const fromOne = (dir: string) => firstSeqnoHeld(join(dir, 'ledger')) === 1;
  if (fromOne(source)) return { source, seqno: seqnos[best]! };
  const beginning = dirs.find(fromOne);
  if (beginning !== undefined) return { source, seqno: seqnos[best]!, beginning };
  // Every node joined from a snapshot: the recovery starts from the latest one the nodes hold.
  if (dirs.every((dir) => committedSnapshots(dir).length === 0)) {
    throw new CocoError(
      'LedgerMissing',
      `no node of ${workspace} holds the service's ledger from seqno 1 (each joined from a snapshot, and the ledger before it is gone), nor a committed snapshot to recover from ` +
        `(in its snapshots directory): put back the nodes' snapshots, or the missing committed chunks (ledger_1-<n>.committed onwards) into a node's ledger directory, and run --recover again`,
    );
  }
  return { source, seqno: seqnos[best]! };
}

/** Records a new recovery of the workspace's nodes once the previous certificate is kept, before anything moves. */
export function planRecovery(workspace: string, common: string): RecoveryPlan {
  const dirs = nodeDirs(workspace);
  const { source, seqno, beginning } = ledgerToRecover(workspace, dirs);
  let n = 1;
  while (existsSync(join(workspace, `previous_service_${n}`))) n++;
  const name = `previous_service_${n}`;
  const recorded = { previous: name, nodes: dirs.map((dir) => basename(dir)), source: basename(source), committedSeqno: seqno, ...(beginning !== undefined && { beginning: basename(beginning) }) };
  const plan: RecoveryPlan = { ...recorded, previous: join(workspace, name) };
  makeDirectory(plan.previous);
  copyFileSync(join(common, 'service_cert.pem'), previousCertificateFile(plan));
  writeFileDurably(join(workspace, PLAN_FILE), JSON.stringify(recorded, null, 2));
  return plan;
}

/** The previous service's certificate, kept with its nodes. */
export function previousCertificateFile(plan: RecoveryPlan): string {
  return join(plan.previous, 'service_cert.pem');
}

/**
 * The node configuration the sandbox wrote for the previous service's node `name`, as JSON, with
 * another `command`, whose service certificate file is this workspace's (`common`): the file the
 * old one names may be another workspace's, this one's original when it was copied.
 */
export function previousConfigWith(plan: RecoveryPlan, common: string, name: string, command: Record<string, unknown>): Record<string, unknown> {
  const path = join(plan.previous, name, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new CocoError('SandboxRecoveryUnreadable', `cannot read ${path}, the configuration of the previous service's node ${name}: ${(cause as Error).message}`, { cause });
  }
  return { ...json, command: { service_certificate_file: join(common, 'service_cert.pem'), ...command } };
}

/** The previous node's ledger directory, which must be there: a CocoError naming it otherwise. */
function previousLedger(plan: RecoveryPlan, name: string): string {
  const ledger = join(plan.previous, name, 'ledger');
  if (!holdsLedger(ledger)) {
    throw new CocoError('LedgerMissing', `the recovery recorded in recovery.json takes the ledger of node ${name}, but ${ledger} holds none: put that node's directory back in ${plan.previous}`);
  }
  return ledger;
}

/** The committed snapshots of the node in `dir`, the highest seqno first. */
function committedSnapshots(dir: string): string[] {
  return committedSnapshotNames(join(dir, 'snapshots'));
}

/** Whether the recovery starts from the source's snapshots: no node holds the ledger from seqno 1. */
export function recoversFromSnapshot(plan: RecoveryPlan): boolean {
  return plan.beginning === undefined && firstSeqnoHeld(previousLedger(plan, plan.source)) !== 1;
}

/**
 * The ledger to recover into the recovering node's directory `dir`: the source's, completed with
 * the beginning's chunks before it, or with the committed snapshots it starts after.
 */
function copyLedgerToRecover(plan: RecoveryPlan, dir: string): void {
  const ledger = join(dir, 'ledger');
  const source = previousLedger(plan, plan.source);
  cpSync(source, ledger, { recursive: true });
  if (recoversFromSnapshot(plan)) copySnapshotsToRecover(plan, join(dir, 'snapshots'));
  if (plan.beginning === undefined) return;
  const first = firstSeqnoHeld(source)!;
  for (const file of listChunkFiles(previousLedger(plan, plan.beginning), { allowEmpty: true })) {
    if (file.chunk.committed && file.chunk.last! < first) copyFileSync(file.path, join(ledger, file.name));
  }
}

/**
 * The previous service's committed snapshots into `to`, of each name the first copy (the source's,
 * then the other nodes') whose receipt the previous certificate proves: a copy damaged on one node
 * is taken from another. The recovering node starts from the latest.
 */
function copySnapshotsToRecover(plan: RecoveryPlan, to: string): void {
  makeDirectory(to);
  const certPem = readFileSync(previousCertificateFile(plan), 'utf8');
  const copied = new Set<string>();
  for (const name of [plan.source, ...plan.nodes.filter((node) => node !== plan.source)]) {
    const dir = join(plan.previous, name);
    for (const snapshot of committedSnapshots(dir)) {
      const path = join(dir, 'snapshots', snapshot);
      if (copied.has(snapshot) || !provenBy(certPem, path, snapshot)) continue;
      copyFileSync(path, join(to, snapshot));
      copied.add(snapshot);
    }
  }
}

/** Whether the committed snapshot at `path` is what its receipt proves against `certPem`. */
function provenBy(certPem: string, path: string, name: string): boolean {
  try {
    verifySnapshotReceipt(readFileSync(path), certPem, name);
    return true;
  } catch (error) {
    if (error instanceof CocoError) return false;
    throw error;
  }
}

export interface PreparedRecovery {
  /** The recovering node's directory, made now. */
  recovering: string;
  /** Whether the previous service's nodes moved now (none had before). */
  moved: boolean;
  /** Where an interrupted attempt's directories were set aside now, if there were any. */
  setAside?: string;
}

/**
 * The steps before the recovering node starts: the previous service's nodes not moved yet move into
 * the plan's directory; an earlier attempt's node directories (the workspace's and the plan's both
 * hold one of that name) are set aside in it as interrupted_<k>; and sandbox_0 is made (aside, then
 * renamed: whole or not at all) with a copy of the ledger to recover and `recoverCommand`.
 */
export function prepareRecoveringNode(workspace: string, common: string, plan: RecoveryPlan, recoverCommand: Record<string, unknown>): PreparedRecovery {
  if (!existsSync(previousCertificateFile(plan))) {
    throw new CocoError(
      'SandboxRecoveryUnreadable',
      `the recovery recorded in ${join(workspace, PLAN_FILE)} keeps the previous service's nodes and certificate in ${plan.previous}, but ${previousCertificateFile(plan)} is missing: put that directory back`,
    );
  }
  const toMove = plan.nodes.filter((name) => existsSync(join(workspace, name)) && !existsSync(join(plan.previous, name)));
  for (const name of toMove) renameSync(join(workspace, name), join(plan.previous, name));
  const attempt = plan.nodes.filter((name) => existsSync(join(workspace, name)));
  let setAside: string | undefined;
  if (attempt.length > 0) {
    let k = 1;
    while (existsSync(join(plan.previous, `interrupted_${k}`))) k++;
    setAside = join(plan.previous, `interrupted_${k}`);
    makeDirectory(setAside);
    for (const name of attempt) renameSync(join(workspace, name), join(setAside, name));
  }
  const recovering = join(workspace, 'sandbox_0');
  const partial = `${recovering}.partial`;
  rmSync(partial, { recursive: true, force: true });
  makeDirectory(partial);
  copyLedgerToRecover(plan, partial);
  writeFileSync(join(partial, 'config.json'), JSON.stringify(previousConfigWith(plan, common, plan.nodes[0]!, recoverCommand), null, 2));
  renameSync(partial, recovering);
  return { recovering, moved: toMove.length > 0, ...(setAside !== undefined && { setAside }) };
}

/** The recovery is over: the workspace is a service like any other. */
export function finishRecoveryPlan(workspace: string): void {
  rmSync(join(workspace, PLAN_FILE));
}
