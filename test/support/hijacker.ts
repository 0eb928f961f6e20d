// An attacker at a node's node-to-node port: it connects again and again with a node identity of
// its choosing and, on every connection TLS lets through, keeps sending an AppendEntries in a high
// view from that identity, as a node that wants to lead would.

import { connect, type TLSSocket } from 'node:tls';
import type { TestContext } from 'node:test';
import { encodeFrameHeader } from '../../src/channels/frame.js';
import { encodeRaftMessage } from '../../src/channels/raft-message-codec.js';
import { RAFT_FRAME } from '../../src/cli/node-service.js';

export interface Hijacker {
  /** Connections that completed TLS (the channel may refuse the identity after that). */
  readonly accepted: number;
  stop(): void;
}

export function hijack(
  t: Pick<TestContext, 'after'>,
  target: { port: number; nodeId: string },
  as: { nodeId: string; certPem: string; keyPem: string },
  view: number,
): Hijacker {
  const message = encodeRaftMessage({ type: 'AppendEntries', from: as.nodeId, to: target.nodeId, view, prevSeqno: 0, prevView: 0, entries: [], leaderCommitSeqno: 0 });
  const frame = Buffer.concat([encodeFrameHeader(RAFT_FRAME, message.length), message]);
  const sockets: TLSSocket[] = [];
  let accepted = 0;
  const attempts = setInterval(() => {
    const socket = connect({ host: '127.0.0.1', port: target.port, cert: as.certPem, key: as.keyPem, rejectUnauthorized: false });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('secureConnect', () => {
      accepted++;
      const sending = setInterval(() => (socket.destroyed ? clearInterval(sending) : socket.write(frame)), 50);
      socket.on('close', () => clearInterval(sending));
    });
  }, 25);
  const stop = () => {
    clearInterval(attempts);
    for (const socket of sockets) socket.destroy();
  };
  t.after(stop);
  return {
    get accepted() {
      return accepted;
    },
    stop,
  };
}
