// One replicated log entry: an opaque payload at a seqno, written in a view. Only entries flagged
// `isSignature` are commit points (CCF's signature transactions); every other entry commits with
// the next signature after it.

export interface LogEntry {
  seqno: number;
  view: number;
  data: Uint8Array;
  isSignature: boolean;
}

/** What a leader's caller proposes; the leader assigns seqno and view. */
export interface ProposedEntry {
  data: Uint8Array;
  isSignature: boolean;
}
