// CCF's answers to a request no endpoint takes, the same on every frontend: an unknown path is 404
// ResourceNotFound; a path that exists but not for the request's method answers OPTIONS with 204
// and anything else with 405 UnsupportedHttpVerb, both naming the methods in Allow, OPTIONS first.

import { RpcError } from './rpc-error.js';
import type { RpcResponse } from './rpc-server.js';

/** CCF's 404 for a path no endpoint has; `pathname` as the request named it. */
export function unknownPath(pathname: string): RpcError {
  return new RpcError(404, 'ResourceNotFound', `Unknown path: ${pathname}.`);
}

/**
 * The answer to `method` on `pathname`, whose endpoints take only `allowed`: 204 for OPTIONS, else
 * thrown 405. A WebSocket handshake (a GET asking to upgrade, `upgrade` its header) is told there
 * are none: a client library reports only the status.
 */
export function methodsAllowed(method: string, pathname: string, allowed: readonly string[], upgrade?: string): RpcResponse {
  const allow = ['OPTIONS', ...allowed.filter((m) => m !== 'OPTIONS')].join(', ');
  // No endpoint ran: the answer names no transaction.
  if (method === 'OPTIONS') return { status: 204, headers: { allow }, txId: null };
  const webSocket = upgrade?.toLowerCase() === 'websocket' ? ' This service has no WebSocket endpoints: send each request over HTTP (a JSON-RPC client: its HTTP provider, which polls for events).' : '';
  throw new RpcError(405, 'UnsupportedHttpVerb', `Allowed methods for '${pathname}' are: ${allow}.${webSocket}`, { allow });
}
