// The service's nodes as the governance tables record them, read the way consensus needs them:
// the Trusted nodes form the configuration (CCF's one-transaction reconfiguration), and each node's
// node-to-node address is where its peers connect.

import { fromUtf8 } from '../crypto/bytes.js';
import { decodeJson, Tables, type NodeInfo } from '../governance/builtin-tables.js';
import type { Store } from '../kv/store.js';
import type { Transaction } from '../kv/transaction.js';
import type { WriteSet } from '../kv/write-set.js';

/**
 * Node records decoded, by the bytes the store holds (it hands out the same bytes until a write
 * replaces them): consensus, the channels and the join endpoint read every record on each change to
 * the nodes table and each connection, and a service with many records (Pending ones can be
 * recorded by any caller of /node/join, each with up to 64 KiB of node_data) decoding them all each
 * time slowed every node down to elections. Shared: callers never change them.
 */
const decodedRecords = new WeakMap<Uint8Array, NodeInfo>();

function decodeNodeInfo(value: Uint8Array): NodeInfo {
  let info = decodedRecords.get(value);
  if (info === undefined) {
    info = decodeJson<NodeInfo>(value, Tables.nodesInfo);
    decodedRecords.set(value, info);
  }
  return info;
}

export function nodeRecords(tx: Transaction): Map<string, NodeInfo> {
  const records = new Map<string, NodeInfo>();
  tx.map(Tables.nodesInfo).forEach((value, key) => {
    records.set(fromUtf8(key), decodeNodeInfo(value));
  });
  return records;
}

/** The node IDs with status Trusted, sorted: the consensus configuration the tables define. */
export function trustedNodeIds(tx: Transaction): string[] {
  return [...nodeRecords(tx)].filter(([, info]) => info.status === 'Trusted').map(([id]) => id).sort();
}

/** Reads `what` from the store's current state in a transaction that is then dropped. */
export function readNow<T>(store: Store, what: (tx: Transaction) => T): T {
  const tx = store.beginTransaction();
  try {
    return what(tx);
  } finally {
    tx.abort();
  }
}

/** The nodes table as the store holds it now. */
export function readNodeRecords(store: Store): Map<string, NodeInfo> {
  return readNow(store, nodeRecords);
}

/** The Trusted node IDs as the store holds them now. */
export function readTrustedNodeIds(store: Store): string[] {
  return readNow(store, trustedNodeIds);
}

export function nodeToNodeAddress(info: NodeInfo): string | undefined {
  const iface = info.node_to_node_interface;
  return iface?.published_address ?? iface?.bind_address;
}

/**
 * The address each RPC interface of the node published (else its bind address), by name. Joins
 * before Coco checked node_info_network stored it as sent, so a ledger may hold any JSON here: an
 * interface without an address is left out rather than failing every reader of the nodes table.
 */
export function publishedRpcAddresses(info: NodeInfo): Map<string, string> {
  return rpcAddresses(info, (iface) => iface.published_address ?? iface.bind_address);
}

/** The bind address each RPC interface of the node recorded, by name (left out where there is none, as above). */
export function rpcBindAddresses(info: NodeInfo): Map<string, string> {
  return rpcAddresses(info, (iface) => iface.bind_address);
}

function rpcAddresses(info: NodeInfo, pick: (iface: Partial<Record<string, unknown>>) => unknown): Map<string, string> {
  const interfaces: unknown = info.rpc_interfaces;
  if (typeof interfaces !== 'object' || interfaces === null) return new Map();
  return new Map(
    Object.entries(interfaces).flatMap(([name, iface]: [string, unknown]) => {
      const address = pick((typeof iface === 'object' && iface !== null ? iface : {}) as Partial<Record<string, unknown>>);
      return typeof address === 'string' ? [[name, address]] : [];
    }),
  );
}

/** `https://host:port` of interface `name` on the node `info` describes, as it published it. */
export function rpcInterfaceUrl(info: NodeInfo | undefined, name: string): string | undefined {
  const address = info === undefined ? undefined : publishedRpcAddresses(info).get(name);
  return address === undefined ? undefined : `https://${address}`;
}

/**
 * Why a node cannot point a client of its interface `name` at another node (the primary): nodes
 * find each other's interfaces by name, as CCF does by interface id, so names must match across
 * nodes. Undefined when that node has an interface so named.
 */
export function interfaceNameMismatch(name: string, other: NodeInfo, role: string): string | undefined {
  const names = [...publishedRpcAddresses(other).keys()];
  if (names.includes(name)) return undefined;
  return `the ${role} has no RPC interface named '${name}' (it has ${names.join(', ') || 'none'}): give this node's interface the same name (network.rpc_interfaces), as interface names must match across nodes`;
}

/** Whether a write set changes the nodes table (and so, maybe, the configuration). */
export function changesNodes(writeSet: WriteSet): boolean {
  return writeSet.public.some((map) => map.name === Tables.nodesInfo && (map.writes.length > 0 || map.removes.length > 0));
}

export function sameNodes(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort();
  return [...a].sort().every((id, i) => id === sortedB[i]);
}
