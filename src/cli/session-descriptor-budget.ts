// Client sessions within the node process's open-file limit (RLIMIT_NOFILE, `ulimit -n`). Each
// session holds a descriptor, and the node needs others of its own: ledger chunks and their
// directory, worker pipes, node-to-node connections. Session caps that leave it fewer would let a
// flood of connections take the descriptor of the next ledger chunk, and a failed ledger write stops
// the node: the caps are lowered to fit at start, and one warning says so and what to do.

import { AUTHENTICATED_INBOUND_CONNECTIONS_MAX, UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX } from '../channels/channel-limits.js';
import { CocoError } from '../errors.js';
import { readSoftLimit, softLimit } from '../node/process-limits.js';
import type { NodeConfig } from '../node/node-config.js';
import type { SessionCaps } from '../rpc/session-caps.js';

/**
 * Descriptors a node holds besides client sessions and inbound node-to-node connections: 28 on an
 * idle one-node service (standard streams, event loop, worker pipes, the open chunk, the commit
 * marker), with room for dials to other nodes, a chunk and a snapshot being written, JWT key fetches.
 */
export const NODE_OWN_DESCRIPTORS_MAX = 64;
/** Descriptors client sessions must leave: the node's own, and as many node-to-node connections as it accepts. */
export const SESSION_DESCRIPTOR_HEADROOM = NODE_OWN_DESCRIPTORS_MAX + UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX + AUTHENTICATED_INBOUND_CONNECTIONS_MAX;

const OPEN_FILES = 'Max open files';

/** The soft limit on open files in /proc/self/limits' text; undefined when unlimited or not there. */
export function openFilesLimit(limits: string): number | undefined {
  return softLimit(limits, OPEN_FILES);
}

export interface FittedSessionCaps {
  caps: Record<string, SessionCaps>;
  /** Which caps were lowered, and what to do; undefined when the configured ones fit. */
  warning: string | undefined;
}

/**
 * The session caps of each interface (by name) within `openFiles` less the headroom. Caps that fit
 * are kept. Otherwise each interface's hard cap gets a share of what is left in proportion to its
 * configured one, at least one session (set aside first, so the shares never add up to more); a
 * soft cap under the new hard cap stays, one above it is lowered in proportion.
 */
export function fitSessionCaps(configured: Readonly<Record<string, SessionCaps>>, openFiles: number | undefined): FittedSessionCaps {
  const entries = Object.entries(configured);
  const hardTotal = entries.reduce((total, [, caps]) => total + caps.hard, 0);
  if (openFiles === undefined || hardTotal + SESSION_DESCRIPTOR_HEADROOM <= openFiles) return { caps: { ...configured }, warning: undefined };
  const raise = `raise the limit (ulimit -n, systemd's LimitNOFILE=) to at least ${hardTotal + SESSION_DESCRIPTOR_HEADROOM}`;
  const budget = openFiles - SESSION_DESCRIPTOR_HEADROOM;
  if (budget < entries.length) {
    throw new CocoError(
      'OpenFilesLimitTooLow',
      `this process may open ${openFiles} files (ulimit -n), and a node keeps ${SESSION_DESCRIPTOR_HEADROOM} of them for its own files and node-to-node connections: ` +
        `none are left for client sessions on its ${entries.length} RPC interface(s); ${raise}`,
    );
  }
  const shared = budget - entries.length;
  const lowered: string[] = [];
  const caps = Object.fromEntries(
    entries.map(([name, { soft, hard }]) => {
      const fitted = { soft, hard: 1 + Math.floor((hard * shared) / hardTotal) };
      if (soft > fitted.hard) fitted.soft = Math.max(1, Math.floor((soft * fitted.hard) / hard));
      if (fitted.hard < hard) lowered.push(`interface ${name}'s max_open_sessions_soft and _hard (${soft} and ${hard}) are lowered to ${fitted.soft} and ${fitted.hard}`);
      return [name, fitted];
    }),
  );
  const warning =
    `this process may open ${openFiles} files (ulimit -n) and keeps ${SESSION_DESCRIPTOR_HEADROOM} of them for its own; ${lowered.join('; ')} ` +
    `so that client sessions cannot take the rest: ${raise}, or lower the caps`;
  return { caps, warning };
}

/** `config` with each RPC interface's session caps within this process's open-file limit; `warn` is told when some were lowered. */
export function withSessionCapsWithinOpenFiles(config: NodeConfig, warn: (line: string) => void): NodeConfig {
  const interfaces = Object.entries(config.rpcInterfaces);
  const { caps, warning } = fitSessionCaps(Object.fromEntries(interfaces.map(([name, iface]) => [name, iface.sessionCaps])), readSoftLimit(OPEN_FILES));
  if (warning === undefined) return config;
  warn(warning);
  return { ...config, rpcInterfaces: Object.fromEntries(interfaces.map(([name, iface]) => [name, { ...iface, sessionCaps: caps[name]! }])) };
}
