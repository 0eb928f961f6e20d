// A one-node service that wrote transactions over several snapshot intervals and was stopped: the
// directory of a real node (ledger chunks cut at each snapshot, committed snapshots, sealed secrets),
// for tests that rearrange its files as an operator would before it starts again.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeService, type RunningService } from '../../src/cli/node-service.js';
import { utf8 } from '../../src/crypto/bytes.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { parseNodeConfig, type NodeConfig } from '../../src/node/node-config.js';
import { writeNodeConfig } from './node-process.js';
import { repoRoot } from './paths.js';
import { testPort } from './test-ports.js';

/** Transactions between snapshots: each snapshot ends a ledger chunk, so the ledger is many small chunks. */
export const SNAPSHOT_TX_COUNT = 10;

export interface StoppedNode {
  /** The version it ran (`coco node`'s): a node restarted in this process must run it too. */
  version: string;
  configPath: string;
  /** The configuration as the node reads it (paths resolved). */
  config(): NodeConfig;
  /** The TxID of each transaction written, in order; transaction `i` set `public:records` key `i`. */
  written: TxId[];
}

/** The version `coco node` runs as: the one a restart's attestation is checked for. */
const VERSION = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Writes `transactions` transactions on a new one-node service in `dir`, each committed before the next, then stops it. */
export async function stoppedNode(dir: string, transactions: number): Promise<StoppedNode> {
  const configPath = await writeNodeConfig(dir, {
    network: {
      rpc_interfaces: { primary: { bind_address: `127.0.0.1:${await testPort()}` } },
      node_to_node_interface: { bind_address: `127.0.0.1:${await testPort()}` },
    },
    snapshots: { directory: 'snapshots', tx_count: SNAPSHOT_TX_COUNT },
  });
  const config = () => parseNodeConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  const service = await startNodeService(config(), VERSION);
  const written: TxId[] = [];
  try {
    for (let i = 0; i < transactions; i++) {
      const { txId } = service.node.execute((tx) => {
        tx.map('public:records').set(utf8(String(i)), utf8(`record ${i}`));
        return { result: undefined, applyWrites: true };
      });
      written.push(txId!);
      await service.node.waitForCommit(txId!.seqno);
    }
  } finally {
    await service.stop();
  }
  return { version: VERSION, configPath, config, written };
}

/** Changes the node's configuration file: `change` gets the JSON and edits it in place. */
export function editConfig(node: StoppedNode, change: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(node.configPath, 'utf8')) as Record<string, unknown>;
  change(json);
  writeFileSync(node.configPath, JSON.stringify(json, null, 2));
}

/** The value transaction `i` wrote, as the running node reads it now (undefined if it has not). */
export function recordOf(service: RunningService, i: number): string | undefined {
  return service.node.execute((tx) => {
    const value = tx.map('public:records').get(utf8(String(i)));
    return { result: value && Buffer.from(value).toString(), applyWrites: false };
  }).result;
}
