// downloadInRanges against real TLS servers: an honest one, and ones whose pieces do not match
// what was asked (a 200 for a range, a wrong Content-Range, a short piece, no size).

import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { before, describe, it, type TestContext } from 'node:test';
import { downloadInRanges } from '../../src/client/ranged-download.js';
import { CocoError } from '../../src/errors.js';
import { createService, reply, startServer, type ReceivedRequest, type ServiceIdentity } from './tls-fixture.js';

let service: ServiceIdentity;
before(async () => {
  service = await createService();
});

const file = Uint8Array.from({ length: 100 }, (_, i) => (i * 13) & 0xff);

/** Serves `file` at /files/x (HEAD and ranged GET); `lie` may change a piece's answer. */
function fileServer(lie?: (range: [number, number], res: ServerResponse) => boolean) {
  return (request: ReceivedRequest, res: ServerResponse) => {
    if (request.url.pathname === '/node/latest') return reply(res, 308, undefined, { location: '/files/x' });
    if (request.url.pathname !== '/files/x') return reply(res, 404, { error: { code: 'ResourceNotFound', message: 'no' } });
    if (request.method === 'HEAD') {
      res.writeHead(200, { 'content-length': file.length, 'x-name': 'x' });
      res.end();
      return;
    }
    const match = /^bytes=(\d+)-(\d+)$/.exec(String(request.headers.range));
    if (match === null) return reply(res, 200, file);
    const range: [number, number] = [Number(match[1]), Number(match[2])];
    if (lie?.(range, res)) return;
    reply(res, 206, file.subarray(range[0], range[1] + 1), { 'content-range': `bytes ${range[0]}-${range[1]}/${file.length}` });
  };
}

async function serve(t: TestContext, handler: ReturnType<typeof fileServer>) {
  const server = await startServer(service, handler);
  t.after(() => server.close());
  return server;
}

const failed = (e: unknown) => e instanceof CocoError && e.code === 'DownloadFailed';

describe('downloadInRanges', () => {
  it('follows the redirect, then fetches the file in pieces of the size asked for', async (t) => {
    const server = await serve(t, fileServer());
    const download = await downloadInRanges({ url: server.url, caCertPem: service.certPem }, '/node/latest', 7);
    assert.deepEqual(download?.bytes, file);
    assert.equal(download?.head.headers['x-name'], 'x');
    assert.equal(new URL(download!.head.url).pathname, '/files/x');
    const ranges = server.requests.filter((r) => r.method === 'GET').map((r) => r.headers.range);
    assert.equal(ranges.length, 15);
    assert.equal(ranges[0], 'bytes=0-6');
    assert.equal(ranges.at(-1), 'bytes=98-99');
  });

  it('is undefined when there is no such file', async (t) => {
    const server = await serve(t, fileServer());
    assert.equal(await downloadInRanges({ url: server.url, caCertPem: service.certPem }, '/node/none'), undefined);
  });

  it('refuses a piece that is not the range asked for', async (t) => {
    const liars: ((range: [number, number], res: ServerResponse) => boolean)[] = [
      (_, res) => (reply(res, 200, file), true),
      ([start, end], res) => (reply(res, 206, file.subarray(start, end + 1), { 'content-range': `bytes ${start + 1}-${end + 1}/${file.length}` }), true),
      ([start, end], res) => (reply(res, 206, file.subarray(start, end), { 'content-range': `bytes ${start}-${end}/${file.length}` }), true),
      ([start, end], res) => (start >= 50 ? (reply(res, 206, file.subarray(start, end + 1), { 'content-range': `bytes ${start}-${end}/200` }), true) : false),
    ];
    for (const lie of liars) {
      const server = await serve(t, fileServer(lie));
      await assert.rejects(downloadInRanges({ url: server.url, caCertPem: service.certPem }, '/files/x', 10), failed);
    }
  });

  it('refuses a HEAD without a usable size, and a piece size that is not a positive whole number', async (t) => {
    // No Content-Length: Node sends the HEAD's answer chunked.
    const server = await serve(t, (_request, res) => {
      res.writeHead(200, { 'x-name': 'x' });
      res.end();
    });
    await assert.rejects(downloadInRanges({ url: server.url, caCertPem: service.certPem }, '/files/x'), failed);
    await assert.rejects(downloadInRanges({ url: server.url, caCertPem: service.certPem }, '/files/x', 0.5), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArgument');
  });
});
