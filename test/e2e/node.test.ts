import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createServiceIdentity } from '../support/generated-ledger.js';
import { call, removeNodeDir, startNode, writeNodeConfig, type NodeProcess } from '../support/node-process.js';
import { runCoco } from '../support/run-cli.js';
import { exitOf } from '../support/child-exit.js';
import { until } from '../support/until.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { curveOf } from '../../src/crypto/signing.js';
import { freePort } from '../../src/cli/free-port.js';

let node: NodeProcess;
before(async () => {
  node = await startNode();
});
after(async () => {
  await node.stop();
  removeNodeDir(node);
});

test('a started node opens genesis as CCF does and serves /node/network over TLS the service certificate anchors', async () => {
  const network = await call(node.url, node.serviceCertPem, 'GET', '/node/network');
  assert.equal(network.status, 200);
  const body = network.json();
  assert.equal(body.service_status, 'Opening');
  assert.equal(body.service_certificate, node.serviceCertPem);
  assert.equal(body.current_service_create_txid, '2.1');
  assert.match(body.primary_id, /^[0-9a-f]{64}$/);
  const nodes = (await call(node.url, node.serviceCertPem, 'GET', '/node/network/nodes')).json();
  assert.equal(nodes.nodes.length, 1);
  assert.equal(nodes.nodes[0].node_id, body.primary_id);
  assert.equal(nodes.nodes[0].status, 'Trusted');
  // As CCF: `self` and `primary` are permanent redirects to the record by ID on this node's address.
  for (const name of ['self', 'primary']) {
    const named = await call(node.url, node.serviceCertPem, 'GET', `/node/network/nodes/${name}`);
    assert.equal(named.status, 308, named.body);
    assert.equal(named.headers.location, `${node.url}/node/network/nodes/${body.primary_id}`);
  }
  const self = await call(node.url, node.serviceCertPem, 'GET', `/node/network/nodes/${body.primary_id}`);
  assert.equal(self.json().node_id, body.primary_id);
  assert.equal(self.json().last_written, 1, "CCF's last_written: the seqno that last wrote the node's record (genesis)");
  // CCF's filters on /node/network/nodes: status, host and port of a published address.
  const { hostname, port } = new URL(node.url);
  const count = async (query: string) => (await call(node.url, node.serviceCertPem, 'GET', `/node/network/nodes?${query}`)).json().nodes.length;
  assert.equal(await count(`host=${hostname}&port=${port}`), 1);
  assert.equal(await count(`port=${port}&status=Trusted`), 1);
  assert.equal(await count(`port=${Number(port) + 1}`), 0);
  assert.equal(await count('host=10.9.8.7'), 0);
  assert.equal(await count('status=Pending'), 0);
  const badStatus = await call(node.url, node.serviceCertPem, 'GET', '/node/network/nodes?status=Sleeping');
  assert.equal(badStatus.status, 400);
  assert.equal(badStatus.json().error.code, 'InvalidQueryParameterValue');
});

test('genesis commits through its own signature: /commit, /tx and the transaction header agree', async () => {
  const commit = await call(node.url, node.serviceCertPem, 'GET', '/node/commit');
  assert.equal(commit.status, 200);
  assert.equal(commit.json().transaction_id, '2.2');
  assert.equal(commit.headers['x-ms-ccf-transaction-id'], '2.2');
  const statuses: [string, string][] = [['2.1', 'Committed'], ['2.2', 'Committed'], ['2.3', 'Unknown'], ['1.1', 'Invalid'], ['3.9', 'Unknown']];
  for (const [txid, status] of statuses) {
    const result = await call(node.url, node.serviceCertPem, 'GET', `/node/tx?transaction_id=${txid}`);
    assert.deepEqual(result.json(), { transaction_id: txid, status }, txid);
  }
  const state = (await call(node.url, node.serviceCertPem, 'GET', '/node/state')).json();
  assert.equal(state.state, 'PartOfNetwork');
  assert.equal(state.last_signed_seqno, 2);
  // CCF's view history: the service began in view 2, view 1 holds nothing (it takes view 2's start).
  const history = await call(node.url, node.serviceCertPem, 'GET', '/gov/commit?view_history=true');
  assert.deepEqual(history.json(), { transaction_id: '2.2', view_history: ['1.1', '2.1'] });
  assert.deepEqual((await call(node.url, node.serviceCertPem, 'GET', '/node/commit?view_history_since=2')).json().view_history, ['2.1']);
  const beyond = await call(node.url, node.serviceCertPem, 'GET', '/gov/commit?view_history_since=3');
  assert.equal(beyond.status, 404);
  assert.equal(beyond.json().error.code, 'InvalidQueryParameterValue');
  for (const bad of ['0', 'two', '-1']) {
    const answer = await call(node.url, node.serviceCertPem, 'GET', `/node/commit?view_history_since=${bad}`);
    assert.equal(answer.status, 400, bad);
    assert.equal(answer.json().error.code, 'InvalidQueryParameterValue');
  }
});

test('bad requests get CCF error bodies: unknown path, wrong method, bad transaction id, oversized body', async () => {
  const cases: [string, string, number, string, string | undefined][] = [
    ['GET', '/node/nothing', 404, 'ResourceNotFound', undefined],
    ['POST', '/node/state', 405, 'UnsupportedHttpVerb', undefined],
    ['GET', '/node/tx?transaction_id=abc', 400, 'InvalidQueryParameterValue', undefined],
    ['GET', '/gov/tx', 400, 'InvalidQueryParameterValue', undefined],
    ['POST', '/node/commit', 405, 'UnsupportedHttpVerb', undefined],
    // As CCF's, the application frontend is closed until the service is Open (this one is still
    // Opening): its built-in endpoints, unknown paths and wrong methods too.
    ['POST', '/app/ethereum', 404, 'FrontendNotOpen', '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}'],
    ['GET', '/app/commit', 404, 'FrontendNotOpen', undefined],
    ['GET', '/app/nothing', 404, 'FrontendNotOpen', undefined],
    ['POST', '/app/commit', 404, 'FrontendNotOpen', undefined],
    // A path under neither /gov nor /node is the application's, with or without /app (CCF 3.0 on).
    ['GET', '/elsewhere', 404, 'FrontendNotOpen', undefined],
    ['GET', '/node/state', 413, 'RequestBodyTooLarge', 'x'.repeat(2 * 1024 * 1024)],
  ];
  for (const [method, path, status, code, body] of cases) {
    const result = await call(node.url, node.serviceCertPem, method, path, body === undefined ? {} : { body });
    assert.equal(result.status, status, `${method} ${path}: ${result.body}`);
    assert.equal(result.json().error.code, code);
    assert.equal(typeof result.json().error.message, 'string');
  }
  const wrongMethod = await call(node.url, node.serviceCertPem, 'POST', '/node/state');
  assert.equal(wrongMethod.headers.allow, 'OPTIONS, GET');
  assert.equal(wrongMethod.json().error.message, "Allowed methods for '/node/state' are: OPTIONS, GET.");
});

test("malformed HTTP is answered with CCF's 400, which quotes what did not parse, and the node keeps serving", async () => {
  const { port, hostname } = new URL(node.url);
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca: node.serviceCertPem, servername: undefined }, () => socket.write('GARBAGE / HTTP/9.9\r\n\r\n'));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  assert.match(response, /^HTTP\/1\.1 400 /);
  assert.match(response, /\r\ncontent-type: text\/plain\r\n/);
  // As CCF's: its test_illegal counts parsing errors by this start, and finds what it sent in the body.
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  assert.match(body, /^Unable to parse data as a HTTP request\. Error message is: HTTP parsing failed \(HPE_INVALID_METHOD: [^)]+\)\nError occurred while parsing fragment:\n/);
  assert.ok(body.endsWith('GARBAGE / HTTP/9.9\r\n\r\n'), body);
  assert.equal((await call(node.url, node.serviceCertPem, 'GET', '/node/state')).status, 200);
});

test('requests queued for one connection leave no listener behind on it (the SDK against a node)', async (t) => {
  const warnings: Error[] = [];
  const warned = (warning: Error) => void warnings.push(warning);
  process.on('warning', warned);
  t.after(() => process.off('warning', warned));
  const client = new CocoClient({ url: node.url, caCertPem: node.serviceCertPem, connectionsPerNode: 1 });
  t.after(() => client.close());
  // Each request after the first takes the connection the one before it left, handshake done:
  // more of them than an emitter's listener limit (10).
  const answers = await Promise.all(Array.from({ length: 30 }, () => client.request('GET', '/node/network')));
  assert.ok(answers.every((answer) => answer.status === 200));
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
  assert.deepEqual(warnings.map((warning) => `${warning.name}: ${warning.message}`), []);
});

test('a client that does not trust the service certificate cannot connect', async () => {
  const other = await createServiceIdentity();
  await assert.rejects(call(node.url, other.serviceCertPem, 'GET', '/node/state'), /certificate/);
});

test('a bad configuration is refused with one line and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-badconfig-'));
  try {
    const missing = runCoco(['node', '--config', join(dir, 'none.json')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read configuration .*none\.json: no such file/);
    const config = await writeNodeConfig(dir, { ledger_signatures: { tx_count: 0 } });
    const bad = runCoco(['node', '--config', config]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /\$\.ledger_signatures\.tx_count: must be a whole number from 1/);
    const slowEvm = runCoco(['node', '--config', await writeNodeConfig(dir, { ethereum: { max_execution_time_ms: 1000 } })]);
    assert.equal(slowEvm.status, 1);
    assert.match(slowEvm.stderr, /\$\.ethereum\.max_execution_time_ms: must be below consensus\.election_timeout_ms \(1000\)/);
    const misspelt = runCoco(['node', '--config', await writeNodeConfig(dir, { consensus: { election_timeout: '5000ms' } })]);
    assert.equal(misspelt.status, 1);
    assert.equal(misspelt.stderr.trim().split('\n').length, 1, misspelt.stderr);
    assert.match(misspelt.stderr, /\$\.consensus\.election_timeout: is not a setting Coco knows/);
    const twoTransaction = runCoco(['node', '--config', await writeNodeConfig(dir, {
      command: { type: 'Start', service_certificate_file: 'service_cert.pem', start: { members: [{ certificate_file: 'member0_cert.pem' }], constitution_files: ['constitution.js'], service_configuration: { reconfiguration_type: 'TwoTransaction' } } },
    })]);
    assert.equal(twoTransaction.status, 1);
    assert.match(twoTransaction.stderr, /reconfiguration_type: Coco reconfigures in one transaction only/);
    const neverRefresh = runCoco(['node', '--config', await writeNodeConfig(dir, { jwt: { key_refresh_interval_s: 0 } })]);
    assert.equal(neverRefresh.status, 1);
    assert.match(neverRefresh.stderr, /\$\.jwt\.key_refresh_interval_s: must be a whole number from 1/);
    const keepNone = runCoco(['node', '--config', await writeNodeConfig(dir, { files_cleanup: { max_snapshots: 0 } })]);
    assert.equal(keepNone.status, 1);
    assert.match(keepNone.stderr, /\$\.files_cleanup\.max_snapshots: must be a whole number from 1/);
    const unknownFeature = runCoco([
      'node',
      '--config',
      await writeNodeConfig(dir, { network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0', enabled_operator_features: ['SnapshotRead', 'LedgerWrite'] } } } }),
    ]);
    assert.equal(unknownFeature.status, 1);
    assert.match(unknownFeature.stderr, /\$\.network\.rpc_interfaces\.primary\.enabled_operator_features: must be a list of "SnapshotRead", "LedgerChunkRead"/);
    const caps = runCoco([
      'node',
      '--config',
      await writeNodeConfig(dir, { network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0', max_open_sessions_soft: 20, max_open_sessions_hard: 10 } } } }),
    ]);
    assert.equal(caps.status, 1);
    assert.match(caps.stderr, /\$\.network\.rpc_interfaces\.primary\.max_open_sessions_hard: must be at least max_open_sessions_soft \(20\)/);
    // Files the configuration names but that cannot serve: one line and an exit, nothing left listening.
    const n2nHolder = createNetServer();
    await new Promise<void>((resolve) => n2nHolder.listen(0, '127.0.0.1', resolve));
    try {
      const n2nPort = (n2nHolder.address() as AddressInfo).port;
      const startFiles = (files: { member?: string; constitution?: string }) => ({
        type: 'Start',
        service_certificate_file: 'service_cert.pem',
        start: { members: [{ certificate_file: files.member ?? 'member0_cert.pem' }], constitution_files: [files.constitution ?? 'constitution.js'] },
      });
      writeFileSync(join(dir, 'afile'), 'not a directory');
      // [what, config overrides, the one line, whether nothing of a service may be written before it]
      const refusals: [string, Record<string, unknown>, RegExp, boolean?][] = [
        ['a missing member certificate', { command: startFiles({ member: 'missing.pem' }) }, /cannot read member certificate .*missing\.pem: no such file \[FileUnreadable\]/],
        ['a missing constitution file', { command: startFiles({ constitution: 'missing.js' }) }, /cannot read constitution file .*missing\.js: no such file/],
        ['a constitution that does not compile', { command: startFiles({ constitution: 'member0_cert.pem' }) }, /the constitution cannot run, so it is refused: .*SyntaxError.* \[InvalidConstitution\]/],
        ['a pid file in a missing directory', { output_files: { pid_file: 'nowhere/node.pid' } }, /cannot write the pid file \(output_files\.pid_file\) .*nowhere\/node\.pid: its directory does not exist \[FileUnwritable\]/, true],
        ['a read-only ledger directory that does not exist', { ledger: { directory: 'ledger', read_only_directories: ['old-ledger'] } }, /\$\.ledger\.read_only_directories: cannot read ledger directory .*old-ledger: .*no such file.* \[InvalidConfig\]/, true],
        ['a ledger directory under a file', { ledger: { directory: 'afile/ledger' }, output_files: { pid_file: 'node.pid' } }, /configuration \$\.ledger\.directory: cannot create or write the directory .*afile\/ledger: ENOTDIR: not a directory.* \[InvalidConfig\]/, true],
        ['a snapshots directory under a file', { snapshots: { directory: 'afile/snapshots' }, output_files: { pid_file: 'node.pid' } }, /configuration \$\.snapshots\.directory: cannot create or write the directory .*afile\/snapshots: ENOTDIR/, true],
        ['the ledger directory listed as read-only', { ledger: { directory: 'ledger', read_only_directories: ['./ledger'] } }, /\$\.ledger\.read_only_directories: lists .*ledger, the ledger directory itself/, true],
        ['a node-to-node port another process holds', { network: { node_to_node_interface: { bind_address: `127.0.0.1:${n2nPort}` }, rpc_interfaces: { primary: { bind_address: '127.0.0.1:0' } } } }, /^\S+Z \[error\] coco: cannot listen for other nodes on 127\.0\.0\.1:\d+ \(network\.node_to_node_interface\.bind_address\): listen EADDRINUSE/],
      ];
      for (const [what, overrides, message, nothingWritten] of refusals) {
        // A node that did not end by itself would be killed by runCoco's timeout: no exit status.
        const refused = runCoco(['node', '--config', await writeNodeConfig(dir, overrides)]);
        assert.equal(refused.status, 1, `${what}: ${refused.stderr}`);
        assert.equal(refused.stderr.trim().split('\n').length, 1, `${what}: ${refused.stderr}`);
        assert.match(refused.stderr, message, what);
        // An empty directory holds nothing of a service; a pid file would name a process that is gone.
        const written = (name: string) => existsSync(join(dir, name)) && (!statSync(join(dir, name)).isDirectory() || readdirSync(join(dir, name)).length > 0);
        if (nothingWritten === true) assert.deepEqual(['ledger', 'sealed_secrets.json', 'node.pid'].filter(written), [], `${what}: nothing of a service written`);
        rmSync(join(dir, 'ledger'), { recursive: true, force: true });
        rmSync(join(dir, 'sealed_secrets.json'), { force: true });
      }
    } finally {
      n2nHolder.close();
    }
    // An RPC port another process holds: the node says it cannot listen, after its first interface did.
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (holder.address() as AddressInfo).port;
      const occupied = runCoco([
        'node',
        '--config',
        await writeNodeConfig(dir, { network: { rpc_interfaces: { first: { bind_address: '127.0.0.1:0' }, second: { bind_address: `127.0.0.1:${taken}` } } } }),
      ]);
      assert.equal(occupied.status, 1, occupied.stderr);
      assert.match(occupied.stderr, new RegExp(`cannot listen on the configured RPC interfaces: .*EADDRINUSE.*${taken}`));
    } finally {
      holder.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stopped node leaves a ledger that verifies; without its sealed secrets it refuses to restart over it', async () => {
  const second = await startNode();
  try {
    assert.equal(await second.stop(), 0);
    const ledger = join(second.dir, 'ledger');
    assert.ok(readdirSync(ledger).length >= 1);
    const verified = runCoco(['ledger', 'verify', ledger, '--service-cert', join(second.dir, 'service_cert.pem')]);
    assert.equal(verified.status, 0, verified.stderr);
    rmSync(join(second.dir, 'sealed_secrets.json'));
    const again = runCoco(['node', '--config', join(second.dir, 'config.json')]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /holds a ledger, but .*sealed_secrets\.json .* is missing/);
  } finally {
    removeNodeDir(second);
  }
});

test('receipts of committed transactions verify offline against the service certificate; others are refused', async () => {
  for (const txid of ['2.1', '2.2']) {
    const response = await call(node.url, node.serviceCertPem, 'GET', `/node/receipt?transaction_id=${txid}`);
    assert.equal(response.status, 200, response.body);
    const receipt = response.json();
    const verified = verifyReceipt(receipt, node.serviceCertPem, { at: new Date() });
    assert.equal(verified.root.length, 32);
    if (txid === '2.1') {
      assert.equal(verified.txId, '2.1');
      const forged = { ...receipt, leaf_components: { ...receipt.leaf_components, write_set_digest: '00'.repeat(32) } };
      assert.throws(() => verifyReceipt(forged, node.serviceCertPem, { at: new Date() }), /ReceiptInvalid|does not verify|signature/);
    }
  }
  const unknown = await call(node.url, node.serviceCertPem, 'GET', '/node/receipt?transaction_id=2.99');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json().error.code, 'TransactionPendingOrUnknown');
  const invalid = await call(node.url, node.serviceCertPem, 'GET', '/node/receipt?transaction_id=1.1');
  assert.equal(invalid.json().error.code, 'TransactionInvalid');
});

test('/node/quotes/self returns the virtual evidence that binds the node key, as genesis trusted it', async () => {
  const quote = (await call(node.url, node.serviceCertPem, 'GET', '/node/quotes/self')).json();
  assert.equal(quote.format, 'Insecure_Virtual');
  assert.equal(quote.measurement, 'Insecure hard-coded virtual measurement v1');
  const evidence = JSON.parse(Buffer.from(quote.raw, 'base64').toString());
  assert.equal(evidence.report_data.length, 32);
  const nodes = (await call(node.url, node.serviceCertPem, 'GET', '/node/quotes')).json();
  assert.equal(nodes.quotes.length, 1);
  assert.equal(nodes.quotes[0].node_id, quote.node_id);
});

test("CCF's operator endpoints: attestations, self-signed certificate, service configuration, consensus config, memory, JS and session metrics", async () => {
  const capped = await startNode({
    network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0', max_open_sessions_soft: 5, max_open_sessions_hard: 7 } } },
    command: {
      type: 'Start',
      service_certificate_file: 'service_cert.pem',
      start: {
        members: [{ certificate_file: 'member0_cert.pem' }],
        constitution_files: ['constitution.js'],
        service_configuration: { maximum_node_certificate_validity_days: 30, recent_cose_proposals_window_size: 50, reconfiguration_type: 'OneTransaction' },
      },
    },
  });
  try {
    const get = async (path: string) => {
      const response = await call(capped.url, capped.serviceCertPem, 'GET', path);
      assert.equal(response.status, 200, `${path}: ${response.body}`);
      return response.json();
    };
    const self = await get('/node/state');
    const attestation = await get('/node/attestations/self');
    assert.deepEqual(attestation, await get('/node/quotes/self'));
    assert.equal(attestation.node_id, self.node_id);
    assert.deepEqual((await get('/node/attestations')).attestations, [attestation]);
    assert.deepEqual(await get('/node/index/strategies'), [], 'no indexing strategies installed');
    // The governance API shows the virtual quote with the evidence it carries, as CCF does.
    const [governed] = (await get(`/gov/service/nodes?api-version=2024-07-01`)).value;
    const evidence = JSON.parse(Buffer.from(governed.quoteInfo.rawQuote, 'base64').toString('utf8'));
    assert.equal(governed.quoteInfo.format, 'Insecure_Virtual');
    assert.deepEqual(governed.quoteInfo.details, { measurement: evidence.measurement, reportData: evidence.report_data, hostData: evidence.host_data });
    assert.equal(governed.quoteInfo.details.measurement, 'Insecure hard-coded virtual measurement v1');
    assert.deepEqual(Object.values(governed.rpcInterfaces).map((i) => (i as { protocol: string }).protocol), ['HTTP1'], "the application protocol, as CCF's");

    const { self_signed_certificate: selfSigned } = await get('/node/self_signed_certificate');
    const cert = new X509Certificate(selfSigned);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'), self.node_id, 'the node key');

    const configuration = await get('/node/service/configuration');
    assert.deepEqual(
      [configuration.recovery_threshold, configuration.maximum_node_certificate_validity_days, configuration.maximum_service_certificate_validity_days, configuration.recent_cose_proposals_window_size],
      [0, 30, 365, 50],
      'the configuration file\'s service_configuration, CCF\'s defaults elsewhere',
    );
    const previous = await call(capped.url, capped.serviceCertPem, 'GET', '/node/service/previous_identity');
    assert.equal(previous.status, 404);
    assert.equal(previous.json().error.code, 'ResourceNotFound');

    const config = await get('/node/config');
    assert.deepEqual(Object.keys(config), [self.node_id]);
    assert.match(config[self.node_id].address, /^127\.0\.0\.1:\d+$/);

    const memory = await get('/node/memory');
    assert.ok(memory.current_allocated_heap_size > 10 * 1024 * 1024, JSON.stringify(memory));
    assert.ok(memory.peak_allocated_heap_size >= memory.current_allocated_heap_size / 2);
    assert.ok(memory.max_total_heap_size >= memory.peak_allocated_heap_size);

    const js = await get('/node/js_metrics');
    assert.deepEqual(Object.keys(js).sort(), ['bytecode_size', 'bytecode_used', 'max_cached_interpreters', 'max_execution_time', 'max_heap_size', 'max_stack_size']);
    assert.ok(js.max_execution_time > 0 && js.max_heap_size > 0 && js.max_cached_interpreters > 0);
    // What the interpreter enforces: CCF's default of 1 MiB is above the stack QuickJS may use here.
    assert.equal(js.max_stack_size, 256 * 1024);

    const { sessions } = await get('/node/metrics');
    assert.equal(sessions.interfaces.primary.soft_cap, 5);
    assert.equal(sessions.interfaces.primary.hard_cap, 7);
    assert.ok(sessions.active >= 1 && sessions.peak >= sessions.active, JSON.stringify(sessions));
  } finally {
    await capped.stop();
    removeNodeDir(capped);
  }
});

test('a published address with port 0 publishes the port the interface binds, as a free port does', async () => {
  const port = await freePort('127.0.0.1');
  const fixed = await startNode({ network: { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${port}`, published_address: 'localhost:0' } } } });
  try {
    const { location } = (await call(fixed.url, fixed.serviceCertPem, 'GET', '/node/network/nodes/self')).headers;
    const self = (await call(fixed.url, fixed.serviceCertPem, 'GET', new URL(String(location)).pathname)).json();
    assert.equal(self.rpc_interfaces.primary.published_address, `localhost:${port}`);
  } finally {
    await fixed.stop();
    removeNodeDir(fixed);
  }
});

test('node_certificate.curve_id chooses the identity curve, and a bad one is refused', async () => {
  const p256 = await startNode({ node_certificate: { curve_id: 'Secp256R1' } });
  try {
    assert.equal(curveOf(p256.serviceCertPem), 'P-256');
    const commit = await call(p256.url, p256.serviceCertPem, 'GET', '/node/commit');
    assert.equal(commit.status, 200);
  } finally {
    await p256.stop();
    removeNodeDir(p256);
  }
  assert.equal(curveOf(node.serviceCertPem), 'P-384');
  const dir = mkdtempSync(join(tmpdir(), 'coco-curve-'));
  try {
    const bad = runCoco(['node', '--config', await writeNodeConfig(dir, { node_certificate: { curve_id: 'Secp521R1' } })]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /curve_id: must be one of Secp256R1, Secp384R1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a damaged chunk is refused with what to do: an uncommitted one replaced by the service's committed chunks from its first seqno, a committed one by a copy", async () => {
  // Killed, a node leaves its open chunk uncommitted; stopped, it commits it.
  const killed = await startNode();
  const stopped = await startNode({ ledger: { directory: 'ledger', chunk_size: 4096 } });
  try {
    killed.child.kill('SIGKILL');
    await exitOf(killed.child, 'the node killed with SIGKILL');
    await until('a committed chunk', 10_000, async () => readdirSync(join(stopped.dir, 'ledger')).find((name) => name.endsWith('.committed')));
    await stopped.stop();
    for (const [node, name, remedy] of [
      [killed, /^ledger_1$/, (file: string) => `; ${file} is not committed: this node may have acknowledged its entries as durable, so it does not start without them. Fetch the service's committed chunks from seqno 1 from a running node (\`coco ledger fetch DIR --url <node> --cacert <service_cert.pem> --since 1\``],
      [stopped, /^ledger_1-\d+\.committed$/, (file: string) => `; replace ${file} with another node's copy (GET /node/ledger-chunk/${file} where LedgerChunkRead is enabled) that \`coco ledger verify\` accepts`],
    ] as const) {
      const ledger = join(node.dir, 'ledger');
      const [file] = readdirSync(ledger);
      assert.match(file!, name);
      const bytes = readFileSync(join(ledger, file!));
      bytes[Math.floor(bytes.length / 3)]! ^= 0x01;
      writeFileSync(join(ledger, file!), bytes);
      const refused = runCoco(['node', '--config', join(node.dir, 'config.json')]);
      assert.equal(refused.status, 1, refused.stderr);
      assert.match(refused.stderr, /this node refuses to serve the ledger .* \[LedgerRefused\]/);
      assert.ok(refused.stderr.includes(remedy(file!)), refused.stderr);
    }
  } finally {
    removeNodeDir(killed);
    removeNodeDir(stopped);
  }
});
