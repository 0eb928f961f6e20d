// Serving files with CCF's semantics: one byte range, HEAD, and RFC 9530 digests, over a real file.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RpcError } from '../../src/rpc/rpc-error.js';
import { FileBody } from '../../src/rpc/file-body.js';
import { parseByteRange, serveFile, wantedDigest, withEntityTag } from '../../src/rpc/file-serving.js';
import type { RpcRequest, RpcResponse } from '../../src/rpc/rpc-server.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-file-serving-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// Larger than one digest read (1 MiB), so hashing goes piece by piece.
const content = Uint8Array.from({ length: (1 << 20) + 4321 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
const path = join(dir, 'snapshot_10_11.committed');
writeFileSync(path, content);

function request(method: string, headers: Record<string, string> = {}): RpcRequest {
  return { frontend: 'node', method, path: '/snapshot/x', pathname: '/node/snapshot/x', params: {}, query: new URLSearchParams(), rawQuery: '', headers, body: new Uint8Array(), clientCert: undefined, matched: () => {}, session: { sentToPrimary: false } };
}
const notFound = () => new RpcError(404, 'ResourceNotFound', 'no such file');
const badHeader = (e: unknown) => e instanceof RpcError && e.status === 400 && e.code === 'InvalidHeaderValue';

/** The bytes of an answer's body, a FileBody, read whole (which closes its file). */
async function bodyBytes(answer: RpcResponse): Promise<Uint8Array> {
  assert.ok(answer.body instanceof FileBody, 'a body read from the file as it is sent');
  return answer.body.read();
}

describe('parseByteRange', () => {
  it('reads START-END (inclusive), START- and -LENGTH, cutting an end past the file', () => {
    assert.deepEqual(parseByteRange('bytes=0-9', 100), { start: 0, end: 10 });
    assert.deepEqual(parseByteRange('bytes=90-', 100), { start: 90, end: 100 });
    assert.deepEqual(parseByteRange('bytes=-30', 100), { start: 70, end: 100 });
    assert.deepEqual(parseByteRange('bytes=-300', 100), { start: 0, end: 100 });
    assert.deepEqual(parseByteRange('bytes=50-1000', 100), { start: 50, end: 100 });
  });

  it('answers a range of no bytes 416 with the size, where CCF sends a Content-Range that ends before it starts', () => {
    for (const header of ['bytes=100-', 'bytes=-0', 'bytes=100-200']) {
      assert.throws(
        () => parseByteRange(header, 100),
        (e: unknown) => e instanceof RpcError && e.status === 416 && e.code === 'RangeNotSatisfiable' && e.headers?.['content-range'] === 'bytes */100',
        header,
      );
    }
  });

  it('refuses other units, several ranges, garbage, a start past the end and a reversed range', () => {
    for (const header of ['items=0-9', '0-9', 'bytes=0-9,20-29', 'bytes=a-9', 'bytes=0-b', 'bytes=-', 'bytes=1-2-3', 'bytes=101-', 'bytes=50-10', 'bytes=-1e3', 'bytes=99999999999999999999-']) {
      assert.throws(() => parseByteRange(header, 100), badHeader, header);
    }
  });
});

describe('wantedDigest', () => {
  it('takes the most preferred digest offered, sha-256 when none is', () => {
    assert.equal(wantedDigest('sha-512=3, sha-256=10'), 'sha-256');
    assert.equal(wantedDigest('sha-256=1, sha-384=5'), 'sha-384');
    assert.equal(wantedDigest('sha-512'), 'sha-512');
    assert.equal(wantedDigest('md5=10, sha-512=x'), 'sha-256');
    assert.equal(wantedDigest(''), 'sha-256');
  });
});

describe('serveFile', () => {
  it('GET answers the whole file, saying ranges are accepted', async () => {
    const answer = await serveFile(request('GET'), path, { 'x-ms-ccf-snapshot-name': 'snapshot_10_11.committed' }, notFound);
    assert.equal(answer.status, undefined);
    assert.equal((answer.body as FileBody).length, content.length);
    assert.deepEqual(await bodyBytes(answer), content);
    assert.equal(answer.headers?.['accept-ranges'], 'bytes');
    assert.equal(answer.headers?.['x-ms-ccf-snapshot-name'], 'snapshot_10_11.committed');
  });

  it('a Range is answered 206 with exactly those bytes and Content-Range', async () => {
    const answer = await serveFile(request('GET', { range: 'bytes=1048570-1048600' }), path, {}, notFound);
    assert.equal(answer.status, 206);
    assert.deepEqual(await bodyBytes(answer), content.subarray(1048570, 1048601));
    assert.equal(answer.headers?.['content-range'], `bytes 1048570-1048600/${content.length}`);
    const tail = await serveFile(request('GET', { range: 'bytes=-5' }), path, {}, notFound);
    assert.deepEqual(await bodyBytes(tail), content.subarray(content.length - 5));
  });

  it('HEAD gives the length and no body; a wanted digest is of the whole file, with or without a range', async () => {
    const head = await serveFile(request('HEAD', { 'want-repr-digest': 'sha-256=1' }), path, {}, notFound);
    assert.equal(head.body, undefined);
    assert.equal(head.contentLength, content.length);
    const sha256 = `sha-256=:${createHash('sha256').update(content).digest('base64')}:`;
    assert.equal(head.headers?.['repr-digest'], sha256);
    const ranged = await serveFile(request('GET', { range: 'bytes=0-0', 'want-repr-digest': 'sha-512=2, sha-256=1' }), path, {}, notFound);
    assert.equal(ranged.headers?.['repr-digest'], `sha-512=:${createHash('sha512').update(content).digest('base64')}:`);
    assert.deepEqual(await bodyBytes(ranged), content.subarray(0, 1));
  });

  it('an absent file is the caller\'s not-found error; a bad range is 400 before anything is read', async () => {
    await assert.rejects(serveFile(request('GET'), join(dir, 'absent'), {}, notFound), (e: unknown) => e instanceof RpcError && e.status === 404);
    await assert.rejects(serveFile(request('GET', { range: 'bytes=5-1' }), path, {}, notFound), badHeader);
  });
});

describe('withEntityTag', () => {
  const body = content.subarray(0, 1000);
  const hex = (algorithm: string) => createHash(algorithm).update(body).digest('hex');
  /** A ledger chunk's answer as serveFile gives it: its first 1000 bytes, read as they are sent. */
  const tagged = async (headers: Record<string, string> = {}) => {
    const wanted = request('GET', { ...headers, range: 'bytes=0-999' });
    return withEntityTag(wanted, await serveFile(wanted, path, { 'x-ms-ccf-ledger-chunk-name': 'ledger_1-5.committed' }, notFound));
  };

  it('tags a body with its SHA-256, keeping the other headers', async () => {
    const answer = await tagged();
    assert.equal(answer.headers?.etag, `"sha-256:${hex('sha256')}"`);
    assert.equal(answer.headers?.['x-ms-ccf-ledger-chunk-name'], 'ledger_1-5.committed');
    assert.deepEqual(answer.body, body);
  });

  it('answers 304 without a body when If-None-Match names its sha-256, sha-384 or sha-512 tag, or is *', async () => {
    for (const header of [`"sha-256:${hex('sha256')}"`, `"other", "sha-384:${hex('sha384')}"`, `"sha-512:${hex('sha512')}"`, '*']) {
      const answered = await tagged({ 'if-none-match': header });
      assert.equal(answered.status, 304, header);
      assert.equal(answered.body, undefined);
      assert.equal(answered.headers?.etag, `"sha-256:${hex('sha256')}"`);
    }
  });

  it('serves the body when no tag matches or the header is malformed, and leaves a HEAD alone', async () => {
    for (const header of [`"sha-256:${hex('sha512')}"`, `sha-256:${hex('sha256')}`, `W/"sha-256:${hex('sha256')}"`, '']) {
      const answered = await tagged({ 'if-none-match': header });
      assert.equal(answered.status, 206, header);
      assert.deepEqual(answered.body, body);
    }
    const head = { headers: {}, contentLength: 10 };
    assert.deepEqual(await withEntityTag(request('HEAD', { 'if-none-match': '*' }), head), head);
  });
});
