// A node as GET /node/network/nodes lists it, as far as the tests read it.

export interface NodeRecord {
  node_id: string;
  status: string;
  primary: boolean;
  rpc_interfaces: Record<string, { published_address: string }>;
}
