// Client sessions per RPC interface, with CCF's caps and counters (`GET /node/metrics`). Past the
// soft cap a new session is accepted but its first request gets 503 `SessionCapExhausted` and the
// connection closes; past the hard cap a new connection is closed before its TLS handshake, so a
// flood of connections costs the node no handshakes.

import { CocoError } from '../errors.js';

export interface SessionCaps {
  soft: number;
  hard: number;
}

/** What a new connection gets: served, answered 503 then closed, or closed at once. */
export type SessionAdmission = 'accept' | 'soft-capped' | 'refuse';

/** Requests an interface could not parse or would not read, by CCF's names. */
export interface SessionErrors {
  parsing: number;
  request_payload_too_large: number;
  request_header_too_large: number;
}

interface InterfaceSessions {
  caps: SessionCaps;
  active: number;
  peak: number;
  errors: SessionErrors;
}

/** CCF's `sessions` object of `GET /node/metrics`. */
export interface SessionMetrics {
  active: number;
  peak: number;
  interfaces: Record<string, { active: number; peak: number; soft_cap: number; hard_cap: number; errors: SessionErrors }>;
}

export function checkSessionCaps(caps: SessionCaps): SessionCaps {
  if (!Number.isSafeInteger(caps.soft) || caps.soft < 1 || !Number.isSafeInteger(caps.hard) || caps.hard < caps.soft) {
    throw new CocoError('InvalidArgument', `session caps need 1 <= soft <= hard, got soft ${caps.soft} and hard ${caps.hard}`);
  }
  return caps;
}

/** The sessions of every RPC interface of one node. */
export class SessionCounts {
  readonly #interfaces = new Map<string, InterfaceSessions>();
  #peak = 0;

  addInterface(name: string, caps: SessionCaps): void {
    if (this.#interfaces.has(name)) throw new CocoError('InvalidArgument', `RPC interface ${name} is counted already`);
    this.#interfaces.set(name, { caps: checkSessionCaps(caps), active: 0, peak: 0, errors: { parsing: 0, request_payload_too_large: 0, request_header_too_large: 0 } });
  }

  /** Admits a new connection on `name`; an admitted one counts until `close`. */
  open(name: string): SessionAdmission {
    const sessions = this.#of(name);
    if (sessions.active >= sessions.caps.hard) return 'refuse';
    sessions.active += 1;
    sessions.peak = Math.max(sessions.peak, sessions.active);
    this.#peak = Math.max(this.#peak, this.#active());
    return sessions.active > sessions.caps.soft ? 'soft-capped' : 'accept';
  }

  capsOf(name: string): SessionCaps {
    return this.#of(name).caps;
  }

  close(name: string): void {
    const sessions = this.#of(name);
    if (sessions.active > 0) sessions.active -= 1;
  }

  countError(name: string, kind: keyof SessionErrors): void {
    this.#of(name).errors[kind] += 1;
  }

  metrics(): SessionMetrics {
    const interfaces: SessionMetrics['interfaces'] = {};
    for (const [name, s] of this.#interfaces) {
      interfaces[name] = { active: s.active, peak: s.peak, soft_cap: s.caps.soft, hard_cap: s.caps.hard, errors: { ...s.errors } };
    }
    return { active: this.#active(), peak: this.#peak, interfaces };
  }

  #active(): number {
    let active = 0;
    for (const s of this.#interfaces.values()) active += s.active;
    return active;
  }

  #of(name: string): InterfaceSessions {
    const sessions = this.#interfaces.get(name);
    if (sessions === undefined) throw new CocoError('InvalidArgument', `no RPC interface ${name} is counted`);
    return sessions;
  }
}
