// The bounds of the node-to-node transport, kept together: frame sizes, send buffers, connection
// counts and the reconnect schedule, so that a slow, dead or hostile peer costs bounded memory.

/** Payload bytes of one frame (the length field counts the payload only). */
export const FRAME_PAYLOAD_BYTES_MAX = 128 * 1024 * 1024;
/** Frame bytes queued for one peer while it is disconnected; the oldest frames go first. */
export const PEER_QUEUE_BYTES_MAX = 16 * 1024 * 1024;
/** Bytes a connected socket may hold unsent before new frames are dropped instead of buffered. */
export const SOCKET_WRITABLE_BYTES_MAX = 16 * 1024 * 1024;
/** Inbound connections (authenticated or still in the handshake) accepted at once. */
export const INBOUND_CONNECTIONS_MAX = 256;
/** A TCP connect plus TLS handshake that takes longer than this is abandoned. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** TCP keep-alive probes start after this much silence, so a vanished peer is noticed. */
export const KEEPALIVE_DELAY_MS = 10_000;
/** Reconnect backoff: the first delay, doubled after each short-lived connection, up to the max. */
export const RECONNECT_DELAY_MIN_MS = 50;
export const RECONNECT_DELAY_MAX_MS = 2_000;
/** A peer that keeps refusing connections is logged once, then again at most this often. */
export const FAILURE_LOG_INTERVAL_MS = 60_000;
