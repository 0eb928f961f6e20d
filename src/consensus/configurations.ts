// The configurations in force on one node, with CCF's rule: a configuration takes effect as soon as
// its entry is in the log. Active are the last configuration at or before the commit seqno (or the
// bootstrap one) and every configuration entry after it, oldest first. A quorum needs a majority of
// EVERY active configuration: while a change is pending, the old and the new nodes must both agree.

import { CONFIGURATION_NODES_MAX, NODE_ID_CHARS_MAX } from './consensus-limits.js';

export interface Configuration {
  /** Seqno of the entry that set it; for the bootstrap configuration 0, or the snapshot the node started from. */
  readonly seqno: number;
  readonly nodes: readonly string[];
}

export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= NODE_ID_CHARS_MAX;
}

/** What is wrong with `nodes` as a configuration (1..CONFIGURATION_NODES_MAX unique node IDs, or 0 if `emptyAllowed`), or undefined. */
export function configurationProblem(nodes: unknown, emptyAllowed = false): string | undefined {
  if (!Array.isArray(nodes)) return 'the configuration is not an array of node IDs';
  if (nodes.length > CONFIGURATION_NODES_MAX || (nodes.length === 0 && !emptyAllowed)) {
    return `a configuration holds ${emptyAllowed ? 0 : 1}..${CONFIGURATION_NODES_MAX} nodes, not ${nodes.length}`;
  }
  const bad = (nodes as unknown[]).find((node) => !isNodeId(node));
  if (bad !== undefined) return `node ID ${JSON.stringify(bad)} is not 1..${NODE_ID_CHARS_MAX} characters`;
  if (new Set(nodes).size !== nodes.length) return 'a node appears twice in the configuration';
  return undefined;
}

const descending = (a: number, b: number): number => b - a;

export class ActiveConfigurations {
  private readonly active: Configuration[] = [];
  private union = new Set<string>();
  private otherNodes: string[] = [];
  /** Whether a configuration that retired at commit held this node. */
  private wasMember = false;
  /** Reused by `quorumSeqno`, which runs on every acknowledgement. */
  private readonly scratch: number[] = [];

  /**
   * `bootstrap` is in force from `bootstrapSeqno` (0, or the snapshot the node started from: the
   * configuration it holds) to the log's first configuration entry; empty for a joiner, which learns
   * it from the log.
   */
  constructor(private readonly self: string, bootstrap: readonly string[], bootstrapSeqno = 0) {
    if (bootstrap.length > 0) this.active.push({ seqno: bootstrapSeqno, nodes: [...bootstrap] });
    this.rebuild();
  }

  /** Oldest first; empty only on a node that has not learnt any configuration yet. */
  get all(): readonly Configuration[] {
    return this.active;
  }

  /** Every node of some active configuration. */
  get nodes(): ReadonlySet<string> {
    return this.union;
  }

  /** Every node of some active configuration but this one: whom a leader replicates to, a candidate asks. */
  get others(): readonly string[] {
    return this.otherNodes;
  }

  get isMember(): boolean {
    return this.union.has(this.self);
  }

  /** Removed by a committed configuration (unlike a joiner, which was never in one). */
  get isRetired(): boolean {
    return this.wasMember && !this.isMember;
  }

  /** Whether an active configuration set at or before `seqno` includes this node. */
  isMemberBy(seqno: number): boolean {
    return this.active.some((configuration) => configuration.seqno <= seqno && configuration.nodes.includes(this.self));
  }

  /** A configuration entry at `seqno` was appended to the log. */
  add(seqno: number, nodes: readonly string[]): void {
    this.active.push({ seqno, nodes });
    this.rebuild();
  }

  /** Commit reached `seqno`: configurations superseded at or before it retire. Returns whether any did. */
  commitTo(seqno: number): boolean {
    let dropped = 0;
    while (dropped + 1 < this.active.length && (this.active[dropped + 1] as Configuration).seqno <= seqno) dropped++;
    if (dropped === 0) return false;
    if (this.active.splice(0, dropped).some(({ nodes }) => nodes.includes(this.self))) this.wasMember = true;
    this.rebuild();
    return true;
  }

  /** The log lost every entry after `seqno`: their configurations no longer hold. Returns whether any were lost. */
  truncateAfter(seqno: number): boolean {
    const length = this.active.length;
    while ((this.active.at(-1)?.seqno ?? 0) > seqno) this.active.pop();
    if (this.active.length === length) return false;
    this.rebuild();
    return true;
  }

  /** Whether the nodes that `counts` holds a majority of every active configuration (false when there is none). */
  hasQuorum(counts: (node: string) => boolean): boolean {
    if (this.active.length === 0) return false;
    return this.active.every(({ nodes }) => nodes.filter(counts).length >= majority(nodes));
  }

  /** Whether the nodes that `against` holds leave some active configuration without a possible majority. */
  quorumLost(against: (node: string) => boolean): boolean {
    return this.active.some(({ nodes }) => nodes.filter(against).length > nodes.length - majority(nodes));
  }

  /** The highest seqno that a majority of every active configuration has reached, each node at `seqnoOf(node)`. */
  quorumSeqno(seqnoOf: (node: string) => number): number {
    let quorum = Infinity;
    for (const { nodes } of this.active) {
      this.scratch.length = 0;
      for (const node of nodes) this.scratch.push(seqnoOf(node));
      this.scratch.sort(descending);
      quorum = Math.min(quorum, this.scratch[majority(nodes) - 1] as number);
    }
    return quorum === Infinity ? 0 : quorum;
  }

  private rebuild(): void {
    this.union = new Set(this.active.flatMap(({ nodes }) => nodes));
    this.otherNodes = [...this.union].filter((node) => node !== this.self);
  }
}

function majority(nodes: readonly string[]): number {
  return Math.floor(nodes.length / 2) + 1;
}
