// The nodes of a sandbox workspace, as their directories and configurations leave them: where the
// sandbox restarts them from, and where the CLI turns when the service URL's node does not answer.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNodeConfig, type NodeConfig, type RpcInterfaceConfig } from '../node/node-config.js';

/** The node directories of a workspace, `sandbox_0` first. */
export function nodeDirs(workspace: string): string[] {
  if (!existsSync(workspace)) return [];
  return readdirSync(workspace)
    .filter((name) => /^sandbox_\d+$/.test(name))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
    .map((name) => join(workspace, name));
}

/** The number of a node directory (`sandbox_2` is node 2), as the sandbox names its nodes. */
export function nodeNumber(dir: string): number {
  return Number(/sandbox_(\d+)$/.exec(dir)?.[1]);
}

/** The configuration the sandbox wrote in a node directory, as the node reads it; undefined when it cannot be read. */
export function sandboxNodeConfig(dir: string): NodeConfig | undefined {
  const path = join(dir, 'config.json');
  try {
    return parseNodeConfig(JSON.parse(readFileSync(path, 'utf8')), path);
  } catch {
    return undefined;
  }
}

/** The first RPC interface of a node's configuration: the one the sandbox writes. */
export function firstRpcInterface(config: NodeConfig): RpcInterfaceConfig | undefined {
  return Object.values(config.rpcInterfaces)[0];
}

/**
 * `https://host:port` of each node's first RPC interface, in node order, from the configurations
 * the sandbox wrote; a node whose configuration cannot be read is left out.
 */
export function sandboxNodeUrls(workspace: string): string[] {
  return nodeDirs(workspace).flatMap((dir) => {
    const config = sandboxNodeConfig(dir);
    const first = config && firstRpcInterface(config);
    return first === undefined ? [] : [`https://${first.publishedAddress}`];
  });
}
