// A node's log file, as the sandbox keeps it: appended to, and never the end of the sandbox.

import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * Opens `path` for appending. A write that fails (a full disk) is said once on stderr and the log
 * dropped from then on: unhandled, the stream's error ended the sandbox, and its nodes with it.
 */
export function logFile(path: string): WriteStream {
  const stream = createWriteStream(path, { flags: 'a' });
  stream.once('error', (error) => {
    stream.on('error', () => {});
    process.stderr.write(`coco sandbox: cannot write ${path} (${error.message}): that node's log is dropped from here on; the node goes on\n`);
  });
  return stream;
}
