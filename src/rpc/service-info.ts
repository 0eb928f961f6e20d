// The service information a request needs: absent only before genesis, when the node cannot
// answer yet (503).

import { readServiceInfo, type ServiceInfo } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { RpcError } from './rpc-error.js';

export function requireServiceInfo(tx: Transaction): ServiceInfo {
  const info = readServiceInfo(tx);
  if (info === undefined) throw new RpcError(503, 'NodeCannotHandleRequest', 'the service has no identity yet');
  return info;
}
