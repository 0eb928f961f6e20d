// Whether a sandbox workspace's first start finished, that is its service opened, as node 0's
// ledger records it (so workspaces of every Coco version answer alike). A first start that failed
// or was interrupted leaves a service still Opening, without its users or app, which a restart
// from the ledger cannot finish: the sandbox refuses it and says to start again.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { Tables, ServiceStatus } from '../governance/builtin-tables.js';
import { decodeChunk } from '../ledger/chunk-file.js';
import { listChunkFiles } from '../node/ledger-directory.js';
import { readInputFile } from '../node/read-input.js';

/** In sandbox_common: why the first start failed, to say so when the workspace is refused. */
const FAILURE_FILE = 'first_start_failed';

/**
 * Whether the ledger records the service opened; undefined when it cannot be read (a restart then
 * lets the node say what is wrong with it). Reads from the start: the service opens within the first
 * few transactions, so only an unopened ledger, which is short, is read to its end.
 */
export function ledgerOpenedService(ledgerDir: string): boolean | undefined {
  try {
    for (const file of listChunkFiles(ledgerDir)) {
      for (const entry of decodeChunk(readInputFile(file.path, 'ledger chunk'), file.name).entries) {
        const writes = entry.publicMaps.find((map) => map.name === Tables.serviceInfo)?.writes ?? [];
        if (writes.some((write) => (JSON.parse(fromUtf8(write.value)) as { status?: unknown }).status === ServiceStatus.open)) return true;
      }
    }
    return false;
  } catch {
    return undefined;
  }
}

/**
 * The words for a workspace whose first start did not finish; `restart` says how to start again
 * when a flag must change.
 */
export function firstStartUnfinished(workspace: string, reason: string | undefined, restart = ''): string {
  return `remove ${workspace} and start again${restart}: its first start did not finish${reason === undefined ? '' : ` (${reason})`}`;
}

/** Records why the first start failed (on one line), for the refusal of the next start; undefined forgets an earlier one. */
export function recordFirstStartFailure(common: string, reason: string | undefined): void {
  try {
    if (reason === undefined) rmSync(join(common, FAILURE_FILE), { force: true });
    else writeFileSync(join(common, FAILURE_FILE), `${reason.replace(/\s*\n\s*/g, ' ')}\n`);
  } catch {
    // Only the next refusal's reason is lost.
  }
}

/** The refusal of a workspace whose ledger records a service that never opened. */
export function unfinishedWorkspaceError(workspace: string, common: string): CocoError {
  let reason: string | undefined;
  try {
    reason = readFileSync(join(common, FAILURE_FILE), 'utf8').trim() || undefined;
  } catch {
    // A start killed outright recorded no reason.
  }
  return new CocoError('WorkspaceUnfinished', firstStartUnfinished(workspace, reason));
}
