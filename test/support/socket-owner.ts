// Which process holds the client end of a loopback TCP connection. A proxy sees only the client's
// port; on Linux, /proc/net/tcp{,6} maps (local port, remote port) to a socket inode and
// /proc/<pid>/fd maps the inode to the process that holds it. Lets the fault proxy tell which node
// dialled a connection although the bytes (TLS) say nothing it can read.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

const SOCKET_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/** The inode of the TCP socket bound to `localPort` and connected to `remotePort`, if any. */
function socketInode(localPort: number, remotePort: number): string | undefined {
  for (const table of SOCKET_TABLES) {
    if (!existsSync(table)) continue;
    // Rows: sl local_address rem_address st ... uid timeout inode; addresses are HEXIP:HEXPORT.
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = row.trim().split(/\s+/);
      const local = fields[1]?.split(':')[1];
      const remote = fields[2]?.split(':')[1];
      if (local === undefined || remote === undefined) continue;
      if (parseInt(local, 16) === localPort && parseInt(remote, 16) === remotePort) return fields[9];
    }
  }
  return undefined;
}

function holds(pid: number, link: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // The process is gone.
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === link;
    } catch {
      return false; // The descriptor closed meanwhile.
    }
  });
}

/**
 * The pid, among `pids`, of the process whose socket has local port `clientPort` and is connected
 * to `serverPort` on this host; undefined when none does (or the connection is already gone).
 */
export function loopbackSocketOwner(clientPort: number, serverPort: number, pids: readonly number[]): number | undefined {
  if (!existsSync(SOCKET_TABLES[0]!)) throw new Error('finding which process holds a socket needs Linux /proc/net/tcp');
  const inode = socketInode(clientPort, serverPort);
  if (inode === undefined || inode === '0') return undefined;
  return pids.find((pid) => holds(pid, `socket:[${inode}]`));
}
