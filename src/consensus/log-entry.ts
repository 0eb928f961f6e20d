// One replicated log entry: an opaque payload at a seqno, written in a view. Only entries flagged
// `isSignature` are commit points (CCF's signature transactions); every other entry commits with
// the next signature after it. An entry carrying `configuration` sets the nodes that replicate the
// log from there on, from the moment it is appended (see configurations.ts).

export interface LogEntry {
  seqno: number;
  view: number;
  data: Uint8Array;
  isSignature: boolean;
  /** When present: the new configuration, as unique node IDs. */
  configuration?: readonly string[];
}

/** What a leader's caller proposes; the leader assigns seqno and view. */
export interface ProposedEntry {
  data: Uint8Array;
  isSignature: boolean;
  configuration?: readonly string[];
}
