// `coco sandbox --recover` moves a workspace's nodes aside and starts a new node 0 on a copy of a
// ledger; a crash or Ctrl-C may stop it anywhere. The workspace records the recovery (recovery.json)
// before anything moves, and every step below can be taken again: running --recover again finishes
// the recovery it records, with the nodes and the previous certificate it set aside, and a plain
// start refuses the workspace meanwhile (its nodes are elsewhere, and sandbox_common's service
// certificate may already be the recovering node's).

import { copyFileSync, cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CocoError } from '../errors.js';
import { commitMarkerPath, readCommitMarker } from '../node/commit-marker-file.js';
import { writeFileDurably } from '../node/durable-file.js';
import { holdsLedger } from '../node/ledger-directory.js';
import { makeDirectory } from '../node/make-directory.js';
import { nodeDirs } from './sandbox-nodes.js';

const PLAN_FILE = 'recovery.json';

export interface RecoveryPlan {
  /** previous_service_<n> in the workspace: where the previous service's nodes and certificate go. */
  previous: string;
  /** The previous service's node directories (sandbox_<i>), node 0 first. */
  nodes: string[];
  /** The node whose ledger is recovered: the one that committed the most (its commit marker). */
  source: string;
  committedSeqno: number;
}

/** The recovery `workspace` records as begun and not finished, if any. */
export function readRecoveryPlan(workspace: string): RecoveryPlan | undefined {
  const path = join(workspace, PLAN_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const plan = JSON.parse(readFileSync(path, 'utf8')) as Partial<RecoveryPlan>;
    if (typeof plan.previous !== 'string' || !Array.isArray(plan.nodes) || typeof plan.source !== 'string' || typeof plan.committedSeqno !== 'number') throw new Error('fields are missing');
    return { previous: plan.previous, nodes: plan.nodes.map(String), source: plan.source, committedSeqno: plan.committedSeqno };
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

/** The node directory whose ledger committed the most, first of equals. */
function longestCommittedLedger(dirs: readonly string[]): { dir: string; seqno: number } {
  const seqnos = dirs.map((dir) => (holdsLedger(join(dir, 'ledger')) ? (readCommitMarker(commitMarkerPath(join(dir, 'consensus_state.json')))?.seqno ?? 0) : -1));
  const best = seqnos.indexOf(Math.max(...seqnos));
  return { dir: dirs[best]!, seqno: seqnos[best]! };
}

/** Records a new recovery of the workspace's nodes, before anything moves. */
export function planRecovery(workspace: string): RecoveryPlan {
  const dirs = nodeDirs(workspace);
  const source = longestCommittedLedger(dirs);
  let n = 1;
  while (existsSync(join(workspace, `previous_service_${n}`))) n++;
  const plan: RecoveryPlan = { previous: join(workspace, `previous_service_${n}`), nodes: dirs.map((dir) => basename(dir)), source: basename(source.dir), committedSeqno: source.seqno };
  writeFileDurably(join(workspace, PLAN_FILE), JSON.stringify(plan, null, 2));
  return plan;
}

/** The previous service's certificate, kept with its nodes. */
export function previousCertificateFile(plan: RecoveryPlan): string {
  return join(plan.previous, 'service_cert.pem');
}

/**
 * The node configuration the sandbox wrote for the previous service's node `name`, as JSON, with
 * another `command` (the service certificate file stays the workspace's).
 */
export function previousConfigWith(plan: RecoveryPlan, name: string, command: Record<string, unknown>): Record<string, unknown> {
  const json = JSON.parse(readFileSync(join(plan.previous, name, 'config.json'), 'utf8')) as Record<string, unknown>;
  return { ...json, command: { service_certificate_file: (json.command as { service_certificate_file: string }).service_certificate_file, ...command } };
}

/**
 * The steps before the recovering node starts, each skipped when an earlier run took it: the
 * previous certificate is kept, the nodes move into the plan's directory, and sandbox_0 is made
 * (aside, then renamed: whole or not at all) with a copy of the source's ledger and `recoverCommand`.
 * Returns the recovering node's directory; `moved` is told when the nodes moved now.
 */
export function prepareRecoveringNode(workspace: string, common: string, plan: RecoveryPlan, recoverCommand: Record<string, unknown>, moved: () => void): string {
  makeDirectory(plan.previous);
  // Until sandbox_0 is made and started, the workspace's certificate is still the previous one.
  if (!existsSync(previousCertificateFile(plan))) copyFileSync(join(common, 'service_cert.pem'), previousCertificateFile(plan));
  const toMove = plan.nodes.filter((name) => existsSync(join(workspace, name)) && !existsSync(join(plan.previous, name)));
  for (const name of toMove) renameSync(join(workspace, name), join(plan.previous, name));
  if (toMove.length > 0) moved();
  const recovering = join(workspace, 'sandbox_0');
  if (!existsSync(recovering)) {
    const partial = `${recovering}.partial`;
    rmSync(partial, { recursive: true, force: true });
    makeDirectory(partial);
    cpSync(join(plan.previous, plan.source, 'ledger'), join(partial, 'ledger'), { recursive: true });
    writeFileSync(join(partial, 'config.json'), JSON.stringify(previousConfigWith(plan, plan.nodes[0]!, recoverCommand), null, 2));
    renameSync(partial, recovering);
  }
  return recovering;
}

/** The recovery is over: the workspace is a service like any other. */
export function finishRecoveryPlan(workspace: string): void {
  rmSync(join(workspace, PLAN_FILE));
}
