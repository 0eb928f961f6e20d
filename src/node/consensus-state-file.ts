// The consensus state a node must not forget across a crash: the view it is in and the vote it cast
// there (Raft's hard state). Written aside, fsynced, then renamed, so a crash leaves the old or the
// new state, never half of one; it changes only at elections, so the cost does not matter.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import type { HardState } from '../consensus/raft-node.js';
import { CocoError } from '../errors.js';

export function readConsensusState(path: string): HardState | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: { view?: unknown; voted_for?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new CocoError('ConsensusStateUnreadable', `cannot read the node's consensus state ${path}: ${(error as Error).message}`);
  }
  const { view, voted_for: votedFor } = parsed;
  if (!Number.isSafeInteger(view) || (view as number) < 0 || (votedFor !== null && typeof votedFor !== 'string')) {
    throw new CocoError('ConsensusStateUnreadable', `the node's consensus state ${path} is malformed; it holds {"view": <integer>, "voted_for": <node ID or null>}`);
  }
  return { view: view as number, votedFor: votedFor ?? undefined };
}

export function writeConsensusState(path: string, state: HardState): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ view: state.view, voted_for: state.votedFor ?? null }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
