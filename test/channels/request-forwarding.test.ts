// The backup's side of request forwarding, over a recording channel and a node whose role the test
// changes: answers are relayed once the backup's log holds their write (or fail as of a changed
// primary), and a request sent to a primary that loses its place, that cannot be reached, or to a
// node that stops, fails at once instead of waiting for the timeout.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeChannels } from '../../src/channels/node-channels.js';
import { FORWARDED_REQUEST_FRAME, FORWARDED_RESPONSE_FRAME, RequestForwarder } from '../../src/channels/request-forwarding.js';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { Node } from '../../src/node/node.js';

const PRIMARY = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

/** How long the backups here hold an answer for replication. */
const REPLICATION_WAIT_MS = 200;

function backup(options: { reachable?: boolean; retired?: boolean } = {}) {
  const sent: { to: string; kind: number; body: { id: number; body: string } }[] = [];
  const role = { role: 'Follower', view: 2, leaderId: PRIMARY as string | undefined };
  const channels = {
    send: (to: string, kind: number, payload: Uint8Array) => {
      sent.push({ to, kind, body: JSON.parse(fromUtf8(payload)) as { id: number; body: string } });
      return options.reachable ?? true;
    },
  } as unknown as NodeChannels;
  const log = { seqno: 8 };
  const node = {
    nodeId: 'c'.repeat(64),
    isPrimary: false,
    stopNotice: options.retired ?? false,
    retiredError: Node.prototype.retiredError,
    get role() { return role; },
    get lastTxId() { return { view: 2, seqno: log.seqno }; },
  } as unknown as Node;
  const forwarder = new RequestForwarder(channels, node, () => Promise.reject(new Error('a backup does not handle forwarded requests here')), REPLICATION_WAIT_MS);
  return { forwarder, sent, role, log };
}

test("a forwarded request resolves with the primary's answer, matched by id", async () => {
  const { forwarder, sent } = backup();
  const first = forwarder.forward('one');
  const second = forwarder.forward('two');
  assert.deepEqual(sent.map((s) => [s.to, s.kind, s.body.body]), [[PRIMARY, FORWARDED_REQUEST_FRAME, 'one'], [PRIMARY, FORWARDED_REQUEST_FRAME, 'two']]);
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[1]!.body.id, body: 'answer two' })));
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'answer one' })));
  assert.deepEqual(await Promise.all([first, second]), ['answer one', 'answer two']);
  // A late or unknown answer is ignored.
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: 999, body: 'late' })));
});

test("the backup answers once its own log holds what the primary had written when it answered: the caller's next read here sees its write", async () => {
  const { forwarder, sent, log } = backup();
  let answered: string | undefined;
  const pending = forwarder.forward('transfer').then((body) => (answered = body));
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10 })));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(answered, undefined, 'held while the backup is behind');
  log.seqno = 10;
  assert.equal(await pending, 'the hash');
});

/** Asserts that `pending` fails with the error of a primary that changed, naming `change`. */
async function failsAsPrimaryChanged(pending: Promise<unknown>, change: RegExp): Promise<void> {
  await assert.rejects(pending, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeCannotHandleRequest');
    assert.match(error.message, /^the primary changed while this request was forwarded to it \((.*)\); it may or may not have run it, so check before sending it again$/);
    assert.match(error.message, change);
    return true;
  });
}

test("an answer whose write has not reached the backup's log within the wait is not relayed: the write may be lost in an election", async () => {
  const { forwarder, sent } = backup();
  const pending = forwarder.forward('transfer');
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10, view: 2 })));
  await assert.rejects(pending, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeCannotHandleRequest');
    assert.equal(error.message, 'the primary answered, but its write has not reached this node in 0.2 s; it may or may not have run it, so check before sending it again');
    return true;
  });
});

test('an answer held for replication is not relayed once the primary or the view changes', async () => {
  for (const [change, expected] of [
    [(role: { view: number; leaderId: string | undefined }) => (role.leaderId = OTHER), /\(the primary is now bbbbbbbbbbbb\)/],
    [(role: { view: number; leaderId: string | undefined }) => (role.leaderId = undefined), /\(no primary is known yet/],
    [(role: { view: number; leaderId: string | undefined }) => (role.view = 3), /\(view 3 began\)/],
  ] as const) {
    const { forwarder, sent, role, log } = backup();
    const pending = forwarder.forward('transfer');
    forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10, view: 2 })));
    change(role);
    // The new primary's log reaching that seqno says nothing of the old primary's write.
    log.seqno = 10;
    await failsAsPrimaryChanged(pending, expected);
  }
});

test('a request in flight to a primary that loses its place fails at once, saying it may have run', async () => {
  const { forwarder, role } = backup();
  const pending = forwarder.forward('transfer');
  role.leaderId = OTHER;
  await assert.rejects(pending, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeCannotHandleRequest');
    assert.match(error.message, /the primary changed while this request was forwarded to it \(the primary is now bbbbbbbbbbbb\); it may or may not have run it/);
    return true;
  });
  role.leaderId = undefined;
  await assert.rejects(forwarder.forward('during the election'), /no primary is known to forward this request to/);
});

test('a retired node, which will never know a primary again, says so rather than that an election is under way', async () => {
  const { forwarder, role } = backup({ retired: true });
  role.leaderId = undefined;
  await assert.rejects(forwarder.forward('x'), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeRetired');
    assert.match(error.message, /has retired from the service .* and knows no primary to forward this request to; send requests to another node/);
    return true;
  });
});

test('a primary that cannot be reached, and a node that stops, fail the requests at once', async () => {
  const unreachable = backup({ reachable: false });
  await assert.rejects(unreachable.forwarder.forward('x'), /the primary cannot be reached to forward this request/);
  const stopping = backup();
  const pending = [stopping.forwarder.forward('a'), stopping.forwarder.forward('b')];
  stopping.forwarder.close();
  for (const request of pending) await assert.rejects(request, /the node is stopping/);
});
