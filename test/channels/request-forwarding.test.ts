// The backup's side of request forwarding, over a recording channel and a node whose role and commit
// the test changes: answers are relayed once the backup knows Committed what the primary knew
// Committed when it answered (or fail, the backup behind, after the wait), and a request sent to a
// primary that loses its place, that cannot be reached, or to a node that stops, fails at once
// instead of waiting for the timeout.

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

function backup(options: { reachable?: boolean; retired?: boolean; answerWithinMs?: number } = {}) {
  const sent: { to: string; kind: number; body: { id: number; body: string } }[] = [];
  const role = { role: 'Follower', view: 2, leaderId: PRIMARY as string | undefined };
  const channels = {
    send: (to: string, kind: number, payload: Uint8Array) => {
      sent.push({ to, kind, body: JSON.parse(fromUtf8(payload)) as { id: number; body: string } });
      return options.reachable ?? true;
    },
  } as unknown as NodeChannels;
  let committed = 8;
  const commitWaits: { seqno: number; resolve: () => void }[] = [];
  const node = {
    nodeId: 'c'.repeat(64),
    isPrimary: false,
    stopNotice: options.retired ?? false,
    retiredError: Node.prototype.retiredError,
    get role() { return role; },
    waitForCommit: (seqno: number) => (seqno <= committed ? Promise.resolve() : new Promise<void>((resolve) => commitWaits.push({ seqno, resolve }))),
  } as unknown as Node;
  /** This backup learns commit up to `seqno`. */
  const commitTo = (seqno: number) => {
    committed = seqno;
    for (const wait of commitWaits.filter((w) => w.seqno <= seqno)) wait.resolve();
  };
  const forwarder = new RequestForwarder(channels, node, () => Promise.reject(new Error('a backup does not handle forwarded requests here')), { replicationWaitMs: REPLICATION_WAIT_MS, answerWithinMs: options.answerWithinMs ?? 5_000 });
  return { forwarder, sent, role, commitTo };
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

test("the backup answers once it knows Committed what the primary knew Committed when it answered: the caller's next read here sees its write and its receipt", async () => {
  const { forwarder, sent, commitTo } = backup();
  let answered: string | undefined;
  const pending = forwarder.forward('transfer').then((body) => (answered = body));
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10 })));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, undefined, 'held while the backup knows commit only up to 8');
  commitTo(10);
  assert.equal(await pending, 'the hash');
});

test('a change of primary after it answered does not stop the answer: what it knew Committed stays so', async () => {
  const { forwarder, sent, role, commitTo } = backup();
  const pending = forwarder.forward('transfer');
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10 })));
  role.leaderId = OTHER;
  role.view = 3;
  commitTo(12);
  assert.equal(await pending, 'the hash');
});

test('an answer whose commit this backup has not learnt within the wait is not relayed: the backup is behind', async () => {
  const { forwarder, sent } = backup();
  const pending = forwarder.forward('transfer');
  forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: sent[0]!.body.id, body: 'the hash', seqno: 10 })));
  await assert.rejects(pending, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeCannotHandleRequest');
    assert.equal(
      error.message,
      'the primary answered once its write was Committed, but this node has not learnt of that commit in 0.2 s (it is behind the primary); ' +
        'what the primary did stands: read the outcome from the primary, or from this node once it catches up',
    );
    return true;
  });
});

test('a primary that does not answer in time (paused, cut off) fails the request at its deadline, saying it may have run; an answer waits for the commit only until the deadline', async () => {
  const silent = backup({ answerWithinMs: 300 });
  await assert.rejects(silent.forwarder.forward('transfer'), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'NodeCannotHandleRequest');
    assert.match(error.message, /^the primary did not answer the forwarded request within 0\.3 s \(it may be paused, overloaded or cut off\); it may or may not have run it/);
    return true;
  });
  // A deadline nearer than the replication wait: the wait ends with it.
  const late = backup({ answerWithinMs: REPLICATION_WAIT_MS / 2 });
  const pending = late.forwarder.forward('transfer');
  late.forwarder.receive(PRIMARY, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify({ id: late.sent[0]!.body.id, body: 'the hash', seqno: 10 })));
  await assert.rejects(pending, (error: Error) => {
    const waited = /has not learnt of that commit in ([\d.]+) s/.exec(error.message);
    assert.ok(waited !== null && Number(waited[1]) < REPLICATION_WAIT_MS / 1000, error.message);
    return true;
  });
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

test("the primary answers with its commit seqno once the request's handler is done (the handler answers once what it wrote is Committed)", async () => {
  const replies: { to: string; kind: number; body: { id: number; body: string | null; seqno?: number } }[] = [];
  const channels = {
    send: (to: string, kind: number, payload: Uint8Array) => replies.push({ to, kind, body: JSON.parse(fromUtf8(payload)) as (typeof replies)[number]['body'] }) > 0,
  } as unknown as NodeChannels;
  const node = { isPrimary: true, role: { view: 2, leaderId: PRIMARY }, commitTxId: { view: 2, seqno: 12 }, lastTxId: { view: 2, seqno: 15 } } as unknown as Node;
  const forwarder = new RequestForwarder(channels, node, async (body) => `answer to ${body}`);
  forwarder.receive(OTHER, FORWARDED_REQUEST_FRAME, utf8(JSON.stringify({ id: 4, body: 'transfer' })));
  while (replies.length === 0) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(replies, [{ to: OTHER, kind: FORWARDED_RESPONSE_FRAME, body: { id: 4, body: 'answer to transfer', seqno: 12 } }]);
});
