// `POST /node/join` over HTTPS against a real in-process node whose service is Open, so that every
// admitted joiner stays Pending: what a join request may carry (CCF's NodeInfoNetwork_v2 schema,
// bounded node_data), and that the nodes table it writes stays readable by `GET /node/network/nodes`.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { CocoClient } from '../../src/client/coco-client.js';
import type { CocoResponse } from '../../src/client/coco-response.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { randomBytes } from '../../src/crypto/random.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../../src/governance/builtin-tables.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { AppRuntime } from '../../src/rpc/app-runtime.js';
import { addJoinEndpoint, JOIN_REQUEST_BYTES_MAX, JOIN_REQUEST_NESTING_MAX, NODE_DATA_BYTES_MAX } from '../../src/rpc/join-endpoint.js';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService } from '../client/tls-fixture.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { addTestBuiltinEndpoints, testRpcServer } from './rpc-server-fixture.js';

let instance: InProcessNode;
let server: RpcServer;
let url: string;
let caCertPem: string;
const appRuntime = new AppRuntime();
const clients: CocoClient[] = [];
let nextPort = 9000;

before(async () => {
  instance = startInProcessNode();
  await instance.node.waitForCommit(2);
  instance.node.execute((tx) => {
    tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...readServiceInfo(tx)!, status: 'Open' }));
    return { result: undefined, applyWrites: true };
  });
  const tls = await createService();
  caCertPem = tls.certPem;
  const service = createServiceIdentity(new Date(), 1);
  const built = testRpcServer(tls, { maxBodyBytes: 1024 * 1024, currentTxId: () => instance.node.lastTxId });
  server = built.server;
  addTestBuiltinEndpoints(server, instance.node, built.sessions, appRuntime);
  addJoinEndpoint(server, instance.node, {
    service,
    secrets: new LedgerSecrets([{ fromSeqno: 1, key: randomBytes(32) }]),
    primaryUrl: () => undefined,
    endorse: (csrPem) => endorseNode({ csrPem }, service, undefined, new Date(), 1),
  });
  url = `https://127.0.0.1:${(await server.listen('127.0.0.1', 0)).port}`;
});

after(async () => {
  for (const client of clients) client.close();
  await server?.close();
  appRuntime.dispose();
  await instance?.close();
});

/** A well-formed network description with addresses of its own (a joiner's must differ from every other's). */
function network(): Record<string, unknown> {
  const port = nextPort++;
  return {
    node_to_node_interface: { bind_address: `127.0.0.1:${port}` },
    rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${port + 1000}`, published_address: `10.0.0.1:${port}`, protocol: 'tcp', app_protocol: 'HTTP1' } },
  };
}

/** POSTs /node/join as `identity` (by default a new node, its own key) with the rest of a valid request; `fields` replace its parts. */
async function join(fields: Record<string, unknown>, identity = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1)): Promise<CocoResponse> {
  const client = new CocoClient({ url, caCertPem, certPem: identity.selfSignedCertPem, keyPem: identity.keyPair.privateKeyPem });
  clients.push(client);
  const body = {
    node_info_network: network(),
    // The host data the in-process node started with: genesis allowed it.
    quote_info: virtualQuote(identity.keyPair.publicKeyPem, sha256(utf8('test'))),
    certificate_signing_request: identity.csrPem,
    node_data: {},
    ...fields,
  };
  return client.request('POST', '/node/join', { body, allowError: true });
}

function refusal(response: CocoResponse): [number, string, string] {
  const { error } = response.json<{ error: { code: string; message: string } }>();
  return [response.status, error.code, error.message];
}

interface ListedNode {
  node_id: string;
  status: string;
  rpc_interfaces: Record<string, unknown>;
}

async function listNodes(query = ''): Promise<ListedNode[]> {
  const client = new CocoClient({ url, caCertPem });
  clients.push(client);
  const response = await client.request('GET', `/node/network/nodes${query}`, { allowError: true });
  assert.equal(response.status, 200, response.text());
  return response.json<{ nodes: ListedNode[] }>().nodes;
}

describe('node_info_network follows CCF NodeInfoNetwork_v2', () => {
  test('an interface without published_address publishes its bind address, and the listing shows it', async () => {
    const answer = await join({ node_info_network: { node_to_node_interface: { bind_address: '127.0.0.1:1' }, rpc_interfaces: { x: { bind_address: '127.0.0.1:1' } } } });
    assert.equal(answer.status, 200, answer.text());
    const { node_id, node_status } = answer.json<{ node_id: string; node_status: string }>();
    assert.equal(node_status, 'Pending');
    const listed = (await listNodes()).find((n) => n.node_id === node_id);
    assert.deepEqual(listed?.rpc_interfaces, { x: { bind_address: '127.0.0.1:1', published_address: '127.0.0.1:1' } });
    assert.deepEqual((await listNodes('?host=127.0.0.1&port=1')).map((n) => n.node_id), [node_id]);
  });

  test("fields CCF's schema does not know are dropped; the ones it knows are kept", async () => {
    const iface = {
      bind_address: '0.0.0.0:8443',
      published_address: 'node.example:443',
      protocol: 'tcp',
      app_protocol: 'HTTP2',
      max_open_sessions_soft: 100,
      max_open_sessions_hard: 110,
      endorsement: { authority: 'Service' },
      http_configuration: { max_body_size: '1MB', max_headers_count: 64 },
      accepted_endpoints: ['^/app/.*'],
      enabled_operator_features: ['SnapshotRead'],
      redirections: { to_primary: { kind: 'NodeByRole', target: { role: 'primary' } } },
    };
    const answer = await join({ node_info_network: { ...network(), rpc_interfaces: { public: { ...iface, padding: 'x'.repeat(10_000) } }, extra: [1, 2, 3] } });
    assert.equal(answer.status, 200, answer.text());
    const { node_id } = answer.json<{ node_id: string }>();
    assert.deepEqual((await listNodes()).find((n) => n.node_id === node_id)?.rpc_interfaces, { public: iface });
  });

  const malformed: [string, unknown, RegExp][] = [
    ['no node_info_network', undefined, /node_info_network must be a JSON object/],
    ['rpc_interfaces a list', { ...network(), rpc_interfaces: [] }, /node_info_network\.rpc_interfaces must be a JSON object/],
    ['no node_to_node_interface', { rpc_interfaces: {} }, /node_info_network\.node_to_node_interface must be a JSON object/],
    ['an interface that is not an object', { ...network(), rpc_interfaces: { x: null } }, /rpc_interfaces\.x must be a JSON object/],
    ['no bind_address', { ...network(), rpc_interfaces: { x: { published_address: '127.0.0.1:1' } } }, /rpc_interfaces\.x\.bind_address must be an address "host:port".*not undefined/],
    ['a bind_address without port', { ...network(), rpc_interfaces: { x: { bind_address: 'localhost' } } }, /rpc_interfaces\.x\.bind_address must be an address "host:port"/],
    ['a port past 65535', { node_to_node_interface: { bind_address: '127.0.0.1:70000' }, rpc_interfaces: {} }, /node_to_node_interface\.bind_address must be an address/],
    ['a published_address that is a number', { ...network(), rpc_interfaces: { x: { bind_address: '127.0.0.1:1', published_address: 443 } } }, /rpc_interfaces\.x\.published_address must be an address/],
    ['a session cap that is a string', { ...network(), rpc_interfaces: { x: { bind_address: '127.0.0.1:1', max_open_sessions_soft: '10' } } }, /max_open_sessions_soft must be a non-negative integer/],
    ['an unknown endorsement authority', { ...network(), rpc_interfaces: { x: { bind_address: '127.0.0.1:1', endorsement: { authority: 'Anyone' } } } }, /endorsement\.authority must be one of "Node", "Service"/],
    ['an unknown operator feature', { ...network(), rpc_interfaces: { x: { bind_address: '127.0.0.1:1', enabled_operator_features: ['Everything'] } } }, /enabled_operator_features\[0\] must be one of "SnapshotRead", "LedgerChunkRead"/],
  ];
  for (const [name, value, message] of malformed) {
    test(`refused 400 InvalidInput: ${name}`, async () => {
      const before = (await listNodes()).length;
      const [status, code, text] = refusal(await join({ node_info_network: value }));
      assert.deepEqual([status, code], [400, 'InvalidInput']);
      assert.match(text, /^the join request's /);
      assert.match(text, message);
      assert.equal((await listNodes()).length, before, 'nothing recorded');
    });
  }
});

test('node records an older Coco stored unchecked do not break the listing of the others', async () => {
  const joined = await join({});
  assert.equal(joined.status, 200, joined.text());
  const stored = (id: string, rpc_interfaces: unknown) =>
    instance.node.execute((tx) => {
      tx.map(Tables.nodesInfo).set(utf8(id), encodeJson({ status: 'Pending', node_data: {}, public_key: '', quote_info: {}, rpc_interfaces }));
      return { result: undefined, applyWrites: true };
    });
  stored('a'.repeat(64), { x: { bind_address: '127.0.0.1:2' } });
  stored('b'.repeat(64), { y: null, z: 'text' });
  stored('c'.repeat(64), null);
  const ids = (await listNodes()).map((n) => n.node_id);
  assert.ok(ids.includes(joined.json<{ node_id: string }>().node_id) && ids.includes('a'.repeat(64)), ids.join());
  assert.deepEqual((await listNodes('?port=2')).map((n) => n.node_id), ['a'.repeat(64)]);
});

test('a known node is answered again only from the addresses recorded for it: the same identity elsewhere is refused 400 NodeAlreadyExists', async () => {
  const identity = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  const recorded = network();
  const first = await join({ node_info_network: recorded }, identity);
  assert.equal(first.status, 200, first.text());
  const { node_id } = first.json<{ node_id: string }>();
  // A joiner polls until members trust it: the same request, the same answer.
  const again = await join({ node_info_network: recorded }, identity);
  assert.equal(again.status, 200, again.text());
  assert.deepEqual(again.json(), { node_status: 'Pending', node_id });

  // Another process holding a copy of that node's key, at its own addresses.
  const elsewhere = network();
  const address = (net: Record<string, unknown>, path: 'node_to_node_interface' | 'primary_rpc_interface') =>
    path === 'node_to_node_interface'
      ? (net.node_to_node_interface as { bind_address: string }).bind_address
      : (net.rpc_interfaces as Record<string, { published_address: string }>).primary_rpc_interface!.published_address;
  const [status, code, message] = refusal(await join({ node_info_network: elsewhere }, identity));
  assert.deepEqual([status, code], [400, 'NodeAlreadyExists']);
  assert.equal(
    message,
    `node ${node_id} is already a Pending node of this service, recorded at other addresses than this join request gives: ` +
      `node_to_node_interface ${address(recorded, 'node_to_node_interface')} → ${address(elsewhere, 'node_to_node_interface')}, ` +
      `rpc_interfaces.primary_rpc_interface ${address(recorded, 'primary_rpc_interface')} → ${address(elsewhere, 'primary_rpc_interface')}. ` +
      'A node keeps the addresses it joined with: to start that node again, give it the recorded ones; ' +
      "a node at new addresses joins as a new node, with a new identity (start it without the old node's sealed_secrets.json), and members remove the old one (remove_node)",
  );
  const listed = (await listNodes()).find((n) => n.node_id === node_id);
  assert.equal((listed?.rpc_interfaces.primary_rpc_interface as { published_address: string }).published_address, address(recorded, 'primary_rpc_interface'), 'the record is kept');
});

describe("startup_seqno, CCF's: the seqno of the snapshot a joiner starts from", () => {
  // This node holds its log from seqno 1: any joiner can catch up (test/e2e/snapshot.test.ts has the refusal).
  test('0 (no snapshot) is accepted from a node whose log starts at seqno 1', async () => {
    const answer = await join({ startup_seqno: 0 });
    assert.equal(answer.status, 200, answer.text());
  });

  for (const value of [-1, 1.5, '7']) {
    test(`${JSON.stringify(value)} is refused 400 InvalidInput`, async () => {
      const [status, code, message] = refusal(await join({ startup_seqno: value }));
      assert.deepEqual([status, code, message], [400, 'InvalidInput', 'the join request needs startup_seqno, when given, to be a seqno (0 without a snapshot)']);
    });
  }
});

test('evidence that is no object and a CSR that does not parse are the joiner\'s errors, not the node\'s', async () => {
  const nullEvidence = { format: 'Insecure_Virtual', quote: Buffer.from('null').toString('base64'), endorsements: '' };
  const [status, code] = refusal(await join({ quote_info: nullEvidence }));
  assert.deepEqual([status, code], [403, 'InvalidQuote']);
  const badCsr = '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
  const [csrStatus, csrCode, csrMessage] = refusal(await join({ certificate_signing_request: badCsr }));
  assert.deepEqual([csrStatus, csrCode], [400, 'CSRPublicKeyInvalid'], csrMessage);
});

describe('a join is bounded in size: each admitted one stays in every ledger', () => {
  /** node_data whose JSON is `bytes` long: a string of that many bytes less its quotes. */
  const nodeDataOf = (bytes: number) => 'x'.repeat(bytes - 2);

  test(`node_data of ${NODE_DATA_BYTES_MAX} bytes is recorded as sent`, async () => {
    const answer = await join({ node_data: nodeDataOf(NODE_DATA_BYTES_MAX) });
    assert.equal(answer.status, 200, answer.text());
    const { node_id } = answer.json<{ node_id: string }>();
    const listed = (await listNodes()).find((n) => n.node_id === node_id) as unknown as { node_data: string };
    assert.equal(listed.node_data.length, NODE_DATA_BYTES_MAX - 2);
  });

  test('node_data one byte longer is refused 413 LimitExceeded, and nothing is recorded', async () => {
    const before = (await listNodes()).length;
    const [status, code, message] = refusal(await join({ node_data: nodeDataOf(NODE_DATA_BYTES_MAX + 1) }));
    assert.deepEqual([status, code], [413, 'LimitExceeded']);
    assert.equal(message, `the join request's node_data is ${NODE_DATA_BYTES_MAX + 1} bytes of JSON, over the limit of ${NODE_DATA_BYTES_MAX}: keep node_data to a label for the node (a host name, a VM ID)`);
    assert.equal((await listNodes()).length, before);
  });

  test('a request nested deeper than the constitution could read back is refused 400, whatever field nests, and nothing is recorded', async () => {
    // 1,100 levels in 3.4 KB: stored, it failed every proposal that reads the nodes table (remove_node included).
    const nested = (levels: number): unknown => (levels === 0 ? 'x' : { a: nested(levels - 1) });
    const before = (await listNodes()).length;
    for (const fields of [{ node_data: nested(1100) }, { node_data: nested(JOIN_REQUEST_NESTING_MAX) }, { public_encryption_key: nested(40) }]) {
      const [status, code, message] = refusal(await join(fields));
      assert.deepEqual([status, code], [400, 'InvalidInput'], message);
      assert.match(message, new RegExp(`deeper than ${JOIN_REQUEST_NESTING_MAX} levels`));
    }
    assert.equal((await listNodes()).length, before);
    const answer = await join({ node_data: nested(JOIN_REQUEST_NESTING_MAX - 2) });
    assert.equal(answer.status, 200, answer.text());
  });

  test('a request past the join limit is refused 413 whatever field carries the bytes', async () => {
    const [status, code, message] = refusal(await join({ quote_info: { format: 'Insecure_Virtual', quote: '', endorsements: 'x'.repeat(JOIN_REQUEST_BYTES_MAX) } }));
    assert.deepEqual([status, code], [413, 'LimitExceeded']);
    assert.match(message, new RegExp(`over the ${JOIN_REQUEST_BYTES_MAX} bytes a join may send; node_data may hold at most ${NODE_DATA_BYTES_MAX} bytes`));
  });
});

test('the node that handles a join logs it: one info line when it records the joiner (its id, its status), a warn line when it refuses its attestation', async (t) => {
  const info: string[] = [];
  const warnings: string[] = [];
  t.mock.method(console, 'log', (line: string) => void info.push(line));
  t.mock.method(console, 'error', (line: string) => void warnings.push(line));
  const answer = await join({});
  assert.equal(answer.status, 200, answer.text());
  const { node_id } = answer.json<{ node_id: string }>();
  const added = info.filter((line) => line.includes(node_id));
  assert.equal(added.length, 1, info.join('\n'));
  assert.match(added[0]!, new RegExp(`^\\S+Z \\[info \\] coco node [0-9a-f]{12}: node ${node_id} joined \\(POST /node/join\\) and was added as Pending at \\d+\\.\\d+; members trust it with transition_node_to_trusted$`));

  const otherHost = virtualQuote(createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1).keyPair.publicKeyPem, sha256(utf8('another host')));
  const [status, code] = refusal(await join({ quote_info: otherHost }));
  assert.deepEqual([status, code], [403, 'InvalidQuote']);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0]!, /^\S+Z \[warn \] coco node [0-9a-f]{12}: refused node [0-9a-f]{64} joining: its attestation was refused: /);
});
