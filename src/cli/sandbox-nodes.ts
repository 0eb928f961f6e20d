// The nodes of a sandbox workspace, as their directories and configurations leave them: where the
// sandbox restarts them from, and where the CLI turns when the service URL's node does not answer.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The node directories of a workspace, `sandbox_0` first. */
export function nodeDirs(workspace: string): string[] {
  if (!existsSync(workspace)) return [];
  return readdirSync(workspace)
    .filter((name) => /^sandbox_\d+$/.test(name))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)))
    .map((name) => join(workspace, name));
}

/**
 * `https://host:port` of each node's first RPC interface, in node order, from the configurations
 * the sandbox wrote; a node whose configuration cannot be read is left out.
 */
export function sandboxNodeUrls(workspace: string): string[] {
  return nodeDirs(workspace).flatMap((dir) => {
    try {
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { network?: { rpc_interfaces?: Record<string, { bind_address?: string; published_address?: string }> } };
      const first = Object.values(config.network?.rpc_interfaces ?? {})[0];
      const address = first?.published_address ?? first?.bind_address;
      return typeof address === 'string' ? [`https://${address}`] : [];
    } catch {
      return [];
    }
  });
}
