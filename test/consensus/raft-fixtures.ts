// Small helpers for the Raft unit tests: logs written as "view:kind" strings, nodes with a fixed
// jitter, and message pumping between a handful of nodes with no faults.

import { utf8 } from '../../src/crypto/bytes.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import type { LogBase } from '../../src/consensus/raft-log.js';
import { RaftNode, type Ready } from '../../src/consensus/raft-node.js';
import type { RaftMessage } from '../../src/consensus/raft-messages.js';

export const ELECTION_TICKS = 10;

/** `log('1s 1t 2t')`: seqno 1 is a signature in view 1, then a transaction in view 1 and one in view 2. */
export function log(spec: string): LogEntry[] {
  return spec.split(' ').filter(Boolean).map((item, index) => ({
    seqno: index + 1,
    view: Number(item.slice(0, -1)),
    data: utf8(`${item}@${index + 1}`),
    isSignature: item.endsWith('s'),
  }));
}

export function makeNode(id: string, configuration: readonly string[], entries: readonly LogEntry[] = [], view = entries.at(-1)?.view ?? 0, commitSeqno = 0, base?: LogBase): RaftNode {
  return new RaftNode({
    id,
    configuration,
    electionTimeoutTicks: ELECTION_TICKS,
    heartbeatTicks: 2,
    random: () => 0,
    initial: { hardState: { view, votedFor: undefined }, entries, commitSeqno, ...(base && { base }) },
  });
}

export function ticks(node: RaftNode, count: number): Ready {
  for (let i = 0; i < count; i++) node.tick();
  return node.ready();
}

/** Delivers messages (and the replies they cause) until none is left; receivers persist at once unless `persists` says not. */
export function pump(nodes: Map<string, RaftNode>, messages: RaftMessage[], drop: (m: RaftMessage) => boolean = () => false, persists: (id: string) => boolean = () => true): Ready[] {
  const readies: Ready[] = [];
  const queue = [...messages];
  for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
    const message = queue.shift() as RaftMessage;
    const node = nodes.get(message.to);
    if (node === undefined || drop(message)) continue;
    node.step(message);
    if (persists(node.id)) node.persisted(node.lastSeqno);
    const ready = node.ready();
    readies.push(ready);
    queue.push(...ready.messages);
  }
  return readies;
}

/** Makes `id` leader of its next view by a full pre-vote and vote round among `nodes`. */
export function elect(nodes: Map<string, RaftNode>, id: string): Ready[] {
  const node = nodes.get(id) as RaftNode;
  const first = ticks(node, ELECTION_TICKS);
  node.persisted(node.lastSeqno);
  return [first, ...pump(nodes, first.messages)];
}
