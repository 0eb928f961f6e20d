// The service information a request needs: absent from a node's state before genesis, and on a
// joiner until it has caught up with the entries that write it; the node cannot answer yet (503).

import { readServiceInfo, type ServiceInfo } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { RpcError } from './rpc-error.js';

export function requireServiceInfo(tx: Transaction): ServiceInfo {
  const info = readServiceInfo(tx);
  if (info === undefined) throw new RpcError(503, 'NodeCannotHandleRequest', 'this node holds no service information yet: it is catching up with the service (a joiner), or the service has not started; retry shortly, or ask another node');
  return info;
}
