// A node's addresses as it gives them now, compared with those its record in the nodes table holds.
// The other nodes dial, and redirect clients to, the recorded ones, so a known node's addresses do
// not change: neither at a restart in place nor when it asks to join again.

import type { NodeInfo } from '../governance/builtin-tables.js';
import { nodeToNodeAddress, publishedRpcAddresses } from './service-nodes.js';

export interface PublishedAddresses {
  nodeToNode: string;
  /** The published address of each RPC interface, by name. */
  rpc: ReadonlyMap<string, string>;
}

/** Each address `now` gives otherwise than `recorded`, as `<interface> <recorded> → <now>`; empty when none differs. */
export function publishedAddressChanges(recorded: NodeInfo, now: PublishedAddresses): string[] {
  const recordedNodeToNode = nodeToNodeAddress(recorded);
  const recordedRpc = publishedRpcAddresses(recorded);
  const names = [...new Set([...recordedRpc.keys(), ...now.rpc.keys()])];
  return [
    ...(recordedNodeToNode === now.nodeToNode ? [] : [`node_to_node_interface ${recordedNodeToNode ?? '(none)'} → ${now.nodeToNode}`]),
    ...names.flatMap((name) => {
      const [was, is] = [recordedRpc.get(name), now.rpc.get(name)];
      return was === is ? [] : [`rpc_interfaces.${name} ${was ?? '(none)'} → ${is ?? '(none)'}`];
    }),
  ];
}
