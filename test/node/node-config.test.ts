// Reading a node's configuration: CCF's size strings and each RPC interface's http_configuration.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP_LIMITS_DEFAULT, hostAndPort, parseNodeConfig } from '../../src/node/node-config.js';
import { CocoError } from '../../src/errors.js';

const START = {
  type: 'Start',
  service_certificate_file: 'service_cert.pem',
  start: { members: [{ certificate_file: 'member0_cert.pem' }], constitution_files: ['constitution.js'] },
};

function parse(overrides: Record<string, unknown>, rpcInterface: Record<string, unknown> = {}) {
  return parseNodeConfig({ network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0', ...rpcInterface } } }, command: START, ...overrides }, '/tmp/config.json');
}

test('host:port splits at the last colon and drops an IPv6 host\'s brackets; anything else is no address', () => {
  assert.deepEqual(hostAndPort('10.0.0.1:8080'), { host: '10.0.0.1', port: 8080 });
  assert.deepEqual(hostAndPort('[::1]:8000'), { host: '::1', port: 8000 });
  assert.deepEqual(hostAndPort('node.example:0'), { host: 'node.example', port: 0 });
  for (const text of ['10.0.0.1', ':80', '10.0.0.1:', '10.0.0.1:65536', '10.0.0.1:80x', '10.0.0.1:123456']) assert.equal(hostAndPort(text), undefined, text);
});

test("an interface's http_configuration takes CCF's size strings and whole numbers; unset limits are CCF's defaults", () => {
  assert.deepEqual(parse({}).rpcInterfaces.primary!.http, HTTP_LIMITS_DEFAULT);
  assert.deepEqual(parse({}, { http_configuration: { max_body_size: '4MB', max_header_size: '32kb', max_headers_count: 64 } }).rpcInterfaces.primary!.http, {
    maxBodyBytes: 4 * 1024 * 1024,
    maxHeaderBytes: 32 * 1024,
    maxHeadersCount: 64,
  });
  assert.equal(parse({}, { http_configuration: { max_body_size: 5000 } }).rpcInterfaces.primary!.http.maxBodyBytes, 5000);
  assert.equal(parse({}, { http_configuration: { max_body_size: '2048B' } }).rpcInterfaces.primary!.http.maxBodyBytes, 2048);
  // The node-wide http.max_body_size is the default of every interface that sets none.
  assert.equal(parse({ http: { max_body_size: '2MB' } }).rpcInterfaces.primary!.http.maxBodyBytes, 2 * 1024 * 1024);
  assert.equal(parse({ http: { max_body_size: '2MB' } }, { http_configuration: { max_body_size: '3MB' } }).rpcInterfaces.primary!.http.maxBodyBytes, 3 * 1024 * 1024);
  assert.equal(parse({ ledger: { chunk_size: '5MB' } }).ledgerChunkBytes, 5 * 1024 * 1024, "CCF's form of ledger.chunk_size");
});

test("historical_cache_soft_limit is CCF's: a size, 512MB unless set", () => {
  assert.equal(parse({}).historicalCacheSoftLimitBytes, 512 * 1024 * 1024);
  assert.equal(parse({ historical_cache_soft_limit: '20KB' }).historicalCacheSoftLimitBytes, 20 * 1024);
  assert.equal(parse({ historical_cache_soft_limit: 0 }).historicalCacheSoftLimitBytes, 0);
  assert.throws(() => parse({ historical_cache_soft_limit: '2PB' }), /\$\.historical_cache_soft_limit: must be a size from 0 to 1099511627776 bytes/);
});

test('a size that is not one, or out of range, and an HTTP/2 setting are refused, naming the setting', () => {
  const refusals: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
    [{}, { http_configuration: { max_body_size: '12ms' } }, /\$\.network\.rpc_interfaces\.primary\.http_configuration\.max_body_size: must be a size from 1024 to 67108864 bytes/],
    [{}, { http_configuration: { max_body_size: 'KB' } }, /max_body_size: must be a size/],
    [{}, { http_configuration: { max_body_size: '1.5MB' } }, /max_body_size: must be a size/],
    [{}, { http_configuration: { max_body_size: '1GB' } }, /max_body_size: must be a size from 1024 to 67108864 bytes/],
    [{}, { http_configuration: { max_header_size: 10 } }, /max_header_size: must be a size from 1024/],
    [{}, { http_configuration: { max_headers_count: 0 } }, /max_headers_count: must be a whole number from 1/],
    [{}, { http_configuration: { max_frame_size: '16KB' } }, /http_configuration\.max_frame_size: is not a setting Coco knows/],
    [{}, { http_configuration: 'big' }, /http_configuration: must be an object/],
    [{}, { app_protocol: 'HTTP2' }, /\$\.network\.rpc_interfaces\.primary\.app_protocol: must be "HTTP1": Coco serves HTTP\/1\.1 only \(CCF's "HTTP2" is not supported\)/],
    [{}, { protocol: 'quic' }, /rpc_interfaces\.primary\.protocol: must be "tcp"/],
    [{}, { endorsement: { authority: 'Node' } }, /rpc_interfaces\.primary\.endorsement\.authority: must be "Service": Coco's interfaces present the node certificate the service endorsed/],
    [{}, { endorsement: { authority: 'Service', acme_configuration: 'cfg' } }, /endorsement\.acme_configuration: is not a setting Coco knows/],
    [{}, { redirections: { to_primary: { kind: 'StaticAddress', target: { address: 'lb:443' } } } }, /rpc_interfaces\.primary\.redirections: is not supported: Coco redirects to the primary/],
    [{}, { accepted_endpoints: '/node/.*' }, /rpc_interfaces\.primary\.accepted_endpoints: must be a list of regular expressions/],
    [{}, { accepted_endpoints: ['/node/.*', '/app/(unclosed'] }, /rpc_interfaces\.primary\.accepted_endpoints\[1\]: is not a valid regular expression: /],
    [{}, { accepted_endpoints: ['/node/x)|(/app/.*'] }, /accepted_endpoints\[0\]: is not a valid regular expression: .*Unmatched '\)'/],
    [{ ledger: { chunk_size: '1KB' } }, {}, /\$\.ledger\.chunk_size: must be a size from 4096/],
    [{ ledger: { read_only_directories: 'old' } }, {}, /\$\.ledger\.read_only_directories: must be a list of paths/],
    [{ ledger: { read_only_directories: [''] } }, {}, /\$\.ledger\.read_only_directories\.0: must be a non-empty string/],
  ];
  for (const [overrides, rpcInterface, message] of refusals) {
    assert.throws(() => parse(overrides, rpcInterface), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'InvalidConfig');
      assert.match(error.message, message);
      return true;
    }, JSON.stringify([overrides, rpcInterface]));
  }
});

test("CCF's protocol, app_protocol and endorsement are accepted with the values Coco serves", () => {
  assert.deepEqual(parse({}, { protocol: 'tcp', app_protocol: 'HTTP1', endorsement: { authority: 'Service' } }).rpcInterfaces, parse({}).rpcInterfaces);
});

test("CCF's accepted_endpoints: each expression must match an endpoint's whole path", () => {
  const [accepted] = Object.values(parse({}, { accepted_endpoints: ['/node/.*', '/app/log/private'] }).rpcInterfaces).map((i) => i.acceptedEndpoints!);
  const matches = (path: string) => accepted!.some((pattern) => pattern.test(path));
  assert.deepEqual(['/node/network/nodes/{node_id}', '/app/log/private', '/app/log/private/historical', '/gov/members', 'x/node/state'].map(matches), [true, true, false, false, false]);
  assert.equal(Object.values(parse({}).rpcInterfaces)[0]!.acceptedEndpoints, undefined);
});

test('ledger.read_only_directories are resolved against the configuration file, and cannot name the ledger directory', () => {
  assert.deepEqual(parse({ ledger: { read_only_directories: ['old', '/srv/older'] } }).ledgerReadOnlyDirectories, ['/tmp/old', '/srv/older']);
  assert.deepEqual(parse({}).ledgerReadOnlyDirectories, []);
  assert.throws(() => parse({ ledger: { directory: 'ledger', read_only_directories: ['/tmp/ledger'] } }), /lists \/tmp\/ledger, the ledger directory itself/);
});

test('an RPC interface and the node-to-node interface (or two RPC interfaces) cannot bind one address:port', () => {
  const withAddresses = (rpc: string[], nodeToNode: string) =>
    parseNodeConfig({
      network: { rpc_interfaces: Object.fromEntries(rpc.map((bind, i) => [`if${i}`, { bind_address: bind }])), node_to_node_interface: { bind_address: nodeToNode } },
      command: START,
    }, '/tmp/config.json');
  const shared = [
    [['127.0.0.1:8000'], '127.0.0.1:8000', /\$\.network\.node_to_node_interface\.bind_address: 127\.0\.0\.1:8000 is also \$\.network\.rpc_interfaces\.if0\.bind_address \(127\.0\.0\.1:8000\); each interface needs its own port/],
    [['0.0.0.0:8000'], '127.0.0.1:8000', /node_to_node_interface\.bind_address: 127\.0\.0\.1:8000 is also \$\.network\.rpc_interfaces\.if0\.bind_address \(0\.0\.0\.0:8000\)/],
    [['127.0.0.1:8000'], '[::]:8000', /node_to_node_interface\.bind_address: :::8000 is also/],
    [['127.0.0.1:8000', '127.0.0.1:8000'], '127.0.0.1:8001', /\$\.network\.rpc_interfaces\.if1\.bind_address: 127\.0\.0\.1:8000 is also \$\.network\.rpc_interfaces\.if0\.bind_address/],
  ] as const;
  for (const [rpc, nodeToNode, message] of shared) assert.throws(() => withAddresses([...rpc], nodeToNode), message, `${rpc.join(', ')} and ${nodeToNode}`);
  // Port 0 is a free port each; one port on two hosts is two addresses.
  for (const [rpc, nodeToNode] of [[['127.0.0.1:0'], '127.0.0.1:0'], [['127.0.0.1:8000'], '127.0.0.2:8000'], [['127.0.0.1:8000'], '127.0.0.1:8001']] as const) {
    assert.doesNotThrow(() => withAddresses([...rpc], nodeToNode), `${rpc.join(', ')} and ${nodeToNode}`);
  }
});

test('a published address that is not host:port, on an RPC or the node-to-node interface, is refused naming its JSON path', () => {
  const withPublished = (rpc: string | undefined, nodeToNode: string | undefined) =>
    parseNodeConfig({
      network: {
        rpc_interfaces: { primary: { bind_address: '127.0.0.1:8000', ...(rpc !== undefined && { published_address: rpc }) } },
        node_to_node_interface: { bind_address: '127.0.0.1:8001', ...(nodeToNode !== undefined && { published_address: nodeToNode }) },
      },
      command: START,
    }, '/tmp/config.json');
  const refused = [
    ['127.0.0.1', undefined, /^configuration \$\.network\.rpc_interfaces\.primary\.published_address: "127\.0\.0\.1" is not host:port/],
    ['not an address', undefined, /\$\.network\.rpc_interfaces\.primary\.published_address: "not an address" is not host:port/],
    ['not an:8000', undefined, /\$\.network\.rpc_interfaces\.primary\.published_address: "not an:8000" is not host:port/],
    ['', undefined, /\$\.network\.rpc_interfaces\.primary\.published_address: must be a non-empty string/],
    [undefined, '127.0.0.1', /^configuration \$\.network\.node_to_node_interface\.published_address: "127\.0\.0\.1" is not host:port/],
    [undefined, 'node.example.com:99999', /\$\.network\.node_to_node_interface\.published_address: "node\.example\.com:99999" is not host:port/],
  ] as const;
  for (const [rpc, nodeToNode, message] of refused) {
    assert.throws(() => withPublished(rpc, nodeToNode), (error: Error & { code?: string }) => error.code === 'InvalidConfig' && message.test(error.message), `${rpc} / ${nodeToNode}`);
  }
  const config = withPublished('node.example.com:443', '[::1]:8001');
  assert.equal(config.rpcInterfaces.primary!.publishedAddress, 'node.example.com:443');
  assert.equal(config.nodeToNode.publishedAddress, '[::1]:8001');
  assert.equal(withPublished(undefined, undefined).rpcInterfaces.primary!.publishedAddress, '127.0.0.1:8000', 'the bind address when unset');
});

test("CCF's logging section: format Text (default) or Json, host_level Trace to Fatal (Info default); other names are refused with the choices", () => {
  assert.deepEqual(parse({}).logging, { format: 'Text', hostLevel: 'Info' });
  assert.deepEqual(parse({ logging: { format: 'Json', host_level: 'Fail' } }).logging, { format: 'Json', hostLevel: 'Fail' });
  assert.throws(() => parse({ logging: { format: 'json' } }), /\$\.logging\.format: must be one of "Text", "Json"/);
  assert.throws(() => parse({ logging: { host_level: 'Warning' } }), /\$\.logging\.host_level: must be one of "Trace", "Debug", "Info", "Fail", "Fatal"/);
});

test('a missing section says so, and names a setting beside it one or two typos away', () => {
  const config = { network: { rpc_interfaces: { primary: { bind_address: '127.0.0.1:0' } } }, command: START };
  const refused = (json: unknown, message: RegExp) => assert.throws(() => parseNodeConfig(json, '/tmp/config.json'), (e: unknown) => e instanceof CocoError && message.test(e.message));
  const { network, ...withoutNetwork } = config;
  refused({ ...withoutNetwork, netwrok: network }, /\$\.network: is missing \(is \$\.netwrok a misspelling of it\?\)/);
  refused(withoutNetwork, /\$\.network: is missing$/);
  refused({ ...config, network: { rpc_interface: network.rpc_interfaces } }, /\$\.network\.rpc_interfaces: is missing \(is \$\.network\.rpc_interface a misspelling of it\?\)/);
  refused({ ...config, network: 'x' }, /\$\.network: must be an object/);
});

test('ethereum.allow_unprotected_transactions is true or false, unset when absent (the service decides), anything else refused', () => {
  assert.equal(parse({}).ethereum.allowUnprotectedTransactions, undefined);
  assert.equal(parse({ ethereum: { allow_unprotected_transactions: true } }).ethereum.allowUnprotectedTransactions, true);
  assert.equal(parse({ ethereum: { allow_unprotected_transactions: false } }).ethereum.allowUnprotectedTransactions, false);
  assert.throws(() => parse({ ethereum: { allow_unprotected_transactions: 'yes' } }), /^CocoError: configuration \$\.ethereum\.allow_unprotected_transactions: must be true or false$/);
});

test("CCF's command.start.cose_signatures sets the issuer and subject of the service's COSE signatures; both are required when it is given, and they are empty without it", () => {
  const withClaims = (claims: unknown) => parse({ command: { ...START, start: { ...START.start, cose_signatures: claims } } });
  assert.deepEqual(parse({}).start.coseSignatures, { issuer: '', subject: '' });
  assert.deepEqual(withClaims({ issuer: 'ledger.example.com', subject: 'scitt.ccf.signature.v1' }).start.coseSignatures, { issuer: 'ledger.example.com', subject: 'scitt.ccf.signature.v1' });
  assert.deepEqual(withClaims({ issuer: '', subject: '' }).start.coseSignatures, { issuer: '', subject: '' }, "CCF's defaults, written out");
  assert.throws(() => withClaims({ issuer: 'ledger.example.com' }), /\$\.command\.start\.cose_signatures\.subject: must be a string/);
  assert.throws(() => withClaims({ issuer: 'ledger.example.com', subject: 7 }), /\$\.command\.start\.cose_signatures\.subject: must be a string/);
  assert.throws(() => withClaims('ledger.example.com'), /\$\.command\.start\.cose_signatures: must be an object/);
  assert.throws(() => withClaims({ issuer: 'a', subject: 'b', audience: 'c' }), /\$\.command\.start\.cose_signatures\.audience: is not a setting Coco knows/);
});
