// The bounds of the consensus layer, kept together: every queue, batch and input the Raft core
// accepts is checked against one of these, so a node's memory and message sizes stay bounded.

/** Entries carried by one AppendEntries message. */
export const APPEND_ENTRIES_PER_MESSAGE_MAX = 64;
/** AppendEntries batches a leader sends to one follower before it waits for an acknowledgement. */
export const APPEND_MESSAGES_IN_FLIGHT_MAX = 4;
/**
 * Rejections in a row, each below what the follower had acknowledged as durable, after which a
 * leader believes it lost those entries (its ledger restored from an older copy) rather than that
 * they are late answers to old messages, and replicates to it again from what it still holds.
 */
export const LOST_ENTRIES_REJECTIONS = 3;
/** Entries accepted by one `propose` call. */
export const PROPOSAL_ENTRIES_MAX = 1024;
/** Uncommitted entries a leader holds before it refuses new non-signature proposals (backpressure). */
export const UNCOMMITTED_ENTRIES_MAX = 10_000;
/**
 * Committed entries a node keeps in memory behind its commit point by default: a follower lagging
 * less than this is caught up from memory, one further behind from the leader's ledger files.
 */
export const RETAINED_ENTRIES_DEFAULT = 4096;
/**
 * Bytes of entry data a node keeps in memory behind its commit point by default, whatever the entry
 * count: 4,096 entries of 1 MiB would otherwise pin 4 GiB. Older entries are read back from the
 * ledger files when a follower needs them, as for the count.
 */
export const RETAINED_ENTRY_BYTES_DEFAULT = 64 * 1024 * 1024;
/**
 * Bytes of entry data a leader holds uncommitted by default before its node refuses new writes,
 * whatever the entry count: 10,000 uncommitted transactions of a few megabytes each would otherwise
 * fill the node's memory while a slow majority catches up. A soft bound: the write that crosses it
 * is kept, the next ones are refused until commit catches up.
 */
export const UNCOMMITTED_ENTRY_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Bytes of one entry's opaque payload. */
export const ENTRY_BYTES_MAX = 64 * 1024 * 1024;
/** Nodes in one active configuration. */
export const CONFIGURATION_NODES_MAX = 64;
/** Characters of a node ID. */
export const NODE_ID_CHARS_MAX = 256;
/** Election timeout (and heartbeat interval) in ticks. */
export const TIMEOUT_TICKS_MAX = 100_000;
/**
 * Election timeouts for which a node added to the configuration counts as heard from in check-quorum,
 * until it first answers. A joiner starts only after members trust it (its next join poll, a snapshot
 * fetch, its ledger and channels: 1 to 2 s with CCF's 1 s election timeout), and a leader that adding
 * it left without a majority must not step down meanwhile. CCF gives one election timeout from the
 * addition; a node that answered once gets no grace when it goes silent.
 */
export const ADDED_NODE_GRACE_ELECTION_TIMEOUTS = 5;
