// A failed change to the node's ledger files (a full disk, a file size limit, a read-only or
// immutable directory): which operation, on which file, and the system's error code. The node
// stops applying transactions on the first one and its process exits (see Node.fail and
// docs/network.md); what it committed is on disk and a restart resumes from it.

import { CocoError } from '../errors.js';

export type LedgerDiskOperation = 'create' | 'open' | 'write' | 'fsync' | 'rename' | 'truncate' | 'delete' | 'close';

export class LedgerDiskError extends CocoError {
  constructor(
    readonly operation: LedgerDiskOperation,
    readonly path: string,
    readonly errno: string,
    cause: Error,
  ) {
    super(
      'LedgerWriteFailed',
      `${operation} of ${path} failed: ${errno} (${systemMessage(cause)}); ${remedy(errno)} and restart the node: it resumes from its ledger, committed transactions are kept`,
      { cause },
    );
  }
}

/**
 * `error` as a LedgerDiskError when the system refused `operation` on `path` (it has an errno
 * code); anything else (a bug) is returned as it is.
 */
export function ledgerDiskError(operation: LedgerDiskOperation, path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof LedgerDiskError || !(error instanceof Error) || typeof code !== 'string' || !code.startsWith('E')) return error;
  return new LedgerDiskError(operation, path, code, error);
}

/** What to change when descriptors ran out (EMFILE, ENFILE): a limit too low for the node's session caps. */
export function descriptorsRemedy(errno: string | undefined): string | undefined {
  if (errno === 'EMFILE') return "raise the node's descriptor limit (ulimit -n) or lower max_open_sessions_hard";
  if (errno === 'ENFILE') return "the machine's open files ran out: raise its limit (sysctl fs.file-max) or lower the nodes' max_open_sessions_hard";
  return undefined;
}

/** What to change before a restart: descriptors run out on a node whose limit is too low for its session caps, not on its disk. */
function remedy(errno: string): string {
  return descriptorsRemedy(errno) ?? 'fix the disk (space, permissions, file size limit)';
}

/** Node's message without its code and syscall: `EFBIG: file too large, write` → `file too large`. */
export function systemMessage(error: Error): string {
  return error.message.replace(/^E[A-Z]+: /, '').replace(/, [a-z]+( '.*)?$/, '');
}
