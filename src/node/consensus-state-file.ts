// The consensus state a node must not forget across a crash: the view it is in and the vote it cast
// there (Raft's hard state), written durably (durable-file.ts): a crash leaves the old or the
// new state, never half of one; it changes only at elections, so the cost does not matter.

import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurably } from './durable-file.js';
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
  writeFileDurably(path, JSON.stringify({ view: state.view, voted_for: state.votedFor ?? null }));
}
