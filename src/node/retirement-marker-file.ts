// What a node learnt from the service about its own retirement, kept beside its consensus state: a
// retired backup seldom receives the commit of its removal, so its own ledger cannot show it, and
// its restarts learn it here. Written once, never changed (retirement is final); it names the node,
// so that a new node joining from the same directory is not taken for the old one.

import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurably } from './durable-file.js';

export interface RetirementMarker {
  nodeId: string;
  /** How the node learnt that its retirement committed, e.g. "the node at 127.0.0.1:8001 lists it as removable". */
  learntFrom: string;
}

/** Where the marker of a node whose consensus state is in `consensusStateFile` lives. */
export function retirementMarkerPath(consensusStateFile: string): string {
  return consensusStateFile.replace(/(\.json)?$/, '.retired.json');
}

/** The marker at `path`; undefined when there is none, or it is not one (a crash cannot leave half of one: it is renamed into place). */
export function readRetirementMarker(path: string): RetirementMarker | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const { node_id: nodeId, learnt_from: learntFrom } = JSON.parse(readFileSync(path, 'utf8')) as { node_id?: unknown; learnt_from?: unknown };
    return typeof nodeId === 'string' && typeof learntFrom === 'string' ? { nodeId, learntFrom } : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the marker durably (see durable-file.ts). */
export function writeRetirementMarker(path: string, marker: RetirementMarker): void {
  writeFileDurably(path, JSON.stringify({ node_id: marker.nodeId, learnt_from: marker.learntFrom }));
}
