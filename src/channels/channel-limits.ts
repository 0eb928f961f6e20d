// The bounds of the node-to-node transport, kept together: frame sizes, send buffers, connection
// counts and the reconnect schedule, so that a slow, dead or hostile peer costs bounded memory.

/** Payload bytes of one frame (the length field counts the payload only). */
export const FRAME_PAYLOAD_BYTES_MAX = 128 * 1024 * 1024;
/** Frame bytes queued for one peer while it is disconnected; the oldest frames go first. */
export const PEER_QUEUE_BYTES_MAX = 16 * 1024 * 1024;
/** Bytes a connected socket may hold unsent before new frames are dropped instead of buffered. */
export const SOCKET_WRITABLE_BYTES_MAX = 16 * 1024 * 1024;
/**
 * Inbound connections not yet authenticated (in the TLS handshake) held at once. A newcomer past it
 * closes the oldest instead of being refused, so connections that never authenticate cannot keep a
 * peer out: each new one gets its turn to handshake.
 */
export const UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX = 256;
/**
 * Authenticated inbound connections, one per node: a configuration has a handful of nodes (a
 * reconfiguration briefly two sets of them), and each connection may hold one frame being read.
 */
export const AUTHENTICATED_INBOUND_CONNECTIONS_MAX = 64;
/**
 * An accepted connection not authenticated by then is closed, however it trickles bytes. Nodes
 * handshake in a few round trips and a signature each way, milliseconds on a LAN; a few seconds
 * leaves room for a loaded node while a stalled connection holds its slot only that long.
 */
export const INBOUND_HANDSHAKE_TIMEOUT_MS = 3_000;
/** A dial (TCP connect plus TLS handshake) that takes longer than this is abandoned. */
export const DIAL_TIMEOUT_MS = 10_000;
/** TCP keep-alive probes start after this much silence, so a vanished peer is noticed. */
export const KEEPALIVE_DELAY_MS = 10_000;
/** Reconnect backoff: the first delay, doubled after each short-lived connection, up to the max. */
export const RECONNECT_DELAY_MIN_MS = 50;
export const RECONNECT_DELAY_MAX_MS = 2_000;
/** A peer that keeps refusing connections, or a source address whose connections keep being refused, is logged once, then again at most this often. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;
/** Peers and source addresses whose failures are counted for that; past it the one counted longest ago is forgotten. */
export const FAILURE_LOG_KEYS_MAX = 1024;
/**
 * A peer whose new inbound connection replaces an open one again within this long is suspect: a
 * restart or a dropped link replaces a connection now and then, two processes with one node
 * identity (a copied node directory) take turns every reconnect delay.
 */
export const DUPLICATE_CONNECTION_WINDOW_MS = 10_000;
