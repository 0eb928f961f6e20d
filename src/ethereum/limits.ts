// Limits of the Ethereum adapter, kept together: every raw transaction, JSON-RPC request and query
// range is checked against them at the boundary, so no request can make a node do unbounded work.

/** Largest signed transaction accepted (geth's txMaxSize): Osaka's initcode cap (48 KiB) fits with room. */
export const RAW_TRANSACTION_BYTES_MAX = 128 * 1024;

/** Most requests in one JSON-RPC batch (ethers.js sends at most 100). */
export const BATCH_REQUESTS_MAX = 1000;

/** Largest response to one JSON-RPC request, a batch's elements together (geth's is 25 MB). */
export const RESPONSE_BYTES_MAX = 10 * 1024 * 1024;

/**
 * Most blocks one filter poll covers (one block holds one transaction); the next poll goes on from
 * there. eth_getLogs has no such bound: its scan is bounded by the request's time (see log-scan.ts).
 */
export const FILTER_POLL_BLOCKS_MAX = 10_000;

/**
 * Logs a scan reads in place between two looks at the clock, besides one look per block: tens of µs
 * of work, so that a block of tens of thousands of logs cannot keep a scan far past its time.
 */
export const LOGS_SCAN_LOGS_PER_CHECK = 1024;

/**
 * Most addresses one log filter (eth_getLogs, eth_newFilter) lists, and most topics at one of its
 * positions: geth's --rpc.logquerylimit. A filter kept on a node then holds at most 148 KB of lists
 * (1,000 addresses and 4 × 1,000 topics), its node's FILTERS_MAX filters at most ~150 MB.
 */
export const LOG_FILTER_ITEMS_MAX = 1000;

/** Most logs one JSON-RPC request returns, its eth_getLogs queries together, before asking the caller to narrow them (Infura's figure). */
export const LOGS_RESULTS_MAX = 10_000;

/** Storage slots one eth_getStorageValues may ask for, all addresses together (geth's maxGetStorageSlots). */
export const STORAGE_VALUES_SLOTS_MAX = 1024;

/** Most blocks one eth_feeHistory query covers (geth's figure). */
export const FEE_HISTORY_BLOCKS_MAX = 1024;

/** Most reward percentiles one eth_feeHistory query asks for. */
export const FEE_HISTORY_PERCENTILES_MAX = 100;

/** Most executions eth_estimateGas runs in its search for the lowest sufficient gas limit. */
export const ESTIMATE_GAS_RUNS_MAX = 32;

/** Most executions eth_createAccessList runs until its list stops changing (geth converges in two or three). */
export const ACCESS_LIST_RUNS_MAX = 8;

/** Default gas limit of every block (and so the cap of each transaction, with Osaka's 2^24 cap). */
export const BLOCK_GAS_LIMIT_DEFAULT = 30_000_000n;

/** Most filters (eth_newFilter and the like) one node keeps at once. */
export const FILTERS_MAX = 1000;

/** Most filters one caller (a user, a JWT subject) keeps on a node, so that no one caller takes them all. */
export const FILTERS_PER_CALLER_MAX = 100;

/** A filter nobody polled for this long is dropped (geth's deadline: 5 minutes). */
export const FILTER_IDLE_MS = 5 * 60_000;

/**
 * A transaction sent ahead of its sender's nonce (by at most this many) waits for the ones before it,
 * and at most this many wait per sender. geth's per-account queue (txpool.accountqueue) is 64, but
 * geth queues first and trims later; here a send past the bound is refused at once, and with it every
 * later nonce of the burst. ethers.js's NonceManager with Promise.all of N sends brings them in
 * batches of 50 sent at once, whose sends interleave here: nearly all N wait at once (83 of 100, 199
 * of 200 in process). A quarter of FUTURE_NONCES_MAX: no one sender fills the node's.
 */
export const FUTURE_NONCES_PER_SENDER_MAX = 256;

/** Most transactions waiting for earlier nonces on one node, all senders together (geth's txpool.globalqueue). */
export const FUTURE_NONCES_MAX = 1024;

/**
 * How long a transaction ahead of its sender's nonce waits for the ones before it before it is refused.
 * Sends of consecutive nonces in flight at once each open a connection of their own with some
 * clients (viem over an undici Agent without a bound on its connections); their TLS handshakes
 * queue on the node, and they arrived up to 2.8 s out of order in a burst of 100 on a loaded host.
 */
export const FUTURE_NONCE_WAIT_MS = 4000;

/**
 * How long after its arrival a send (eth_sendRawTransaction, eth_sendRawTransactionSync) answers at
 * the latest: its wait for earlier nonces, its turn, its run and its wait to be known Committed (or
 * rolled back by an election) together. Below clients' own timeouts (viem's 10 s, Hardhat's 20 s),
 * so that where no commit comes (a primary cut off from the others) the client learns the hash and
 * that the outcome is open, rather than timing out without them.
 */
export const SEND_ANSWER_MS = 8_000;
/**
 * How long a backup gives a send it forwarded to the primary, which answers within SEND_ANSWER_MS:
 * past it (the primary paused or cut off) the caller is told so before viem's 10 s timeout, whose
 * own error names no transaction.
 */
export const FORWARDED_SEND_ANSWER_MS = SEND_ANSWER_MS + 1_000;
