// `/{app,gov,node}/api` over real TLS on a node in this process: the installed application's
// endpoints are merged into the OpenAPI document with their `openapi` operation objects, templated
// paths get their parameters (built-in endpoints too), built-in operations declare CCF's query
// parameters, `openapi_hidden` endpoints stay out (and the operations CCF hides: its governance
// API's, the join), and JWT and COSE policies become security schemes, as in CCF.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { JsConstitutionRunner } from '../../src/governance/js-constitution-runner.js';
import { Governance } from '../../src/governance/proposals.js';
import { addGovEndpoints } from '../../src/rpc/gov-endpoints.js';
import type { RpcServer } from '../../src/rpc/rpc-server.js';
import { createService } from '../client/tls-fixture.js';
import { addTestBuiltinEndpoints, testRpcServer } from './rpc-server-fixture.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { TestHost } from '../js/js-test-host.js';

let inProcess: InProcessNode;
let server: RpcServer;
let client: CocoClient;
let runner: JsConstitutionRunner;

const FORMAT_PARAMETER = { name: 'format', in: 'query', required: false, schema: { type: 'string' } };
const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'integer' }, description: 'the record' };
const endpoint = (extra: Record<string, unknown>) => ({ js_module: 'app.js', js_function: 'f', forwarding_required: 'sometimes', authn_policies: ['user_cert'], mode: 'readonly', ...extra });

before(async () => {
  inProcess = startInProcessNode();
  inProcess.node.execute((tx) => {
    const table = tx.map(Tables.endpoints);
    table.set(utf8('GET /records/{id}'), encodeJson(endpoint({ openapi: { summary: 'one record', responses: { 200: { description: 'the record' } } } })));
    table.set(utf8('POST /records'), encodeJson(endpoint({ mode: 'readwrite' })));
    table.set(utf8('GET /records/{id}/versions/{version}'), encodeJson(endpoint({ openapi: { parameters: [FORMAT_PARAMETER, ID_PARAMETER] } })));
    table.set(utf8('GET /internal'), encodeJson(endpoint({ openapi_hidden: true })));
    table.set(utf8('GET /claims'), encodeJson(endpoint({ authn_policies: ['jwt', 'user_cert', 'user_cose_sign1', { all_of: ['user_cert', 'jwt'] }] })));
    table.set(utf8('GET /maybe-signed-in'), encodeJson(endpoint({ authn_policies: ['user_cert', 'jwt', 'no_auth'] })));
    table.set(utf8('GET /sessions'), encodeJson(endpoint({ openapi: { responses: { 200: { description: 'sessions', content: { 'application/json': { schema: { $ref: '#/components/schemas/NodeMetrics' } } } } } } })));
    return { result: undefined, applyWrites: true };
  });
  const tls = await createService();
  const built = testRpcServer(tls, { caps: { soft: 10, hard: 10 }, currentTxId: () => inProcess.node.lastTxId });
  server = built.server;
  addTestBuiltinEndpoints(server, inProcess.node, built.sessions);
  // The route join-endpoint.ts serves joining nodes.
  server.add('node', 'POST', '/join', () => ({ status: 200 }));
  runner = await JsConstitutionRunner.create(new TestHost(), inProcess.node.governanceHost(), { maxExecutionTimeMs: 200 });
  addGovEndpoints(server, inProcess.node, new Governance(runner));
  const { port } = await server.listen('127.0.0.1', 0);
  client = new CocoClient({ url: `https://127.0.0.1:${port}`, caCertPem: tls.certPem });
});

after(async () => {
  client?.close();
  await server?.close();
  runner?.dispose();
  await inProcess?.close();
});

test("/app/api merges the app's endpoints with their operation objects; hidden ones stay out", async () => {
  const api = (await client.request('GET', '/app/api')).json<{ openapi: string; servers: unknown; paths: Record<string, Record<string, Record<string, unknown>>> }>();
  assert.equal(api.openapi, '3.0.0');
  assert.deepEqual(api.servers, [{ url: '/app' }]);
  assert.deepEqual(api.paths['/records/{id}']!.get, {
    parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
    summary: 'one record',
    responses: { 200: { description: 'the record' } },
  });
  assert.deepEqual(api.paths['/records']!.post, { responses: { default: { description: 'Default response' } } });
  assert.equal(api.paths['/internal'], undefined);
  // As CCF: the policies OpenAPI can describe get a security requirement each, and their schemes
  // are in the components; certificate policies and all_of have none.
  assert.deepEqual(api.paths['/claims']!.get!.security, [{ jwt: [] }, { user_cose_sign1: [] }]);
  // An endpoint that also takes anonymous calls says so: the empty requirement, as CCF's own endpoints.
  assert.deepEqual(api.paths['/maybe-signed-in']!.get!.security, [{ jwt: [] }, {}]);
  assert.deepEqual(Object.keys((api as unknown as { components: { securitySchemes: object } }).components.securitySchemes).sort(), ['jwt', 'user_cose_sign1']);
  assert.deepEqual((api as unknown as { components: { securitySchemes: Record<string, unknown> } }).components.securitySchemes.jwt, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  assert.ok(api.paths['/commit']!.get, 'the built-in endpoints are listed too');
  const node = (await client.request('GET', '/node/api')).json<{ servers: unknown; paths: Record<string, unknown> }>();
  assert.deepEqual(node.servers, [{ url: '/node' }]);
  assert.equal(node.paths['/records'], undefined);
  assert.ok(node.paths['/network']);
});

test("an app's own parameters join its templated path's: its query parameter is added, its description of a path parameter replaces the generated one", async () => {
  const api = (await client.request('GET', '/app/api')).json<{ paths: Record<string, Record<string, { parameters?: unknown[] }>> }>();
  assert.deepEqual(api.paths['/records/{id}/versions/{version}']!.get!.parameters, [
    ID_PARAMETER,
    { name: 'version', in: 'path', required: true, schema: { type: 'string' } },
    FORMAT_PARAMETER,
  ]);
});

test('every templated path of /node/api and /app/api declares each of its {name}s as a required path parameter, as OpenAPI 3.0 requires', async () => {
  for (const frontend of ['node', 'app']) {
    const { paths } = (await client.request('GET', `/${frontend}/api`)).json<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string; required: boolean }[] }>> }>();
    const templated = Object.keys(paths).filter((path) => path.includes('{'));
    assert.ok(templated.length > 0, `/${frontend}/api has templated paths`);
    for (const path of templated) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => name!).sort();
      for (const [method, operation] of Object.entries(paths[path]!)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path' && p.required).map((p) => p.name).sort();
        assert.deepEqual(declared, names, `${method} /${frontend}${path}`);
      }
    }
  }
});

type Parameters = { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
const operationsOf = async (frontend: string) => (await client.request('GET', `/${frontend}/api`)).json<{ paths: Record<string, Record<string, { parameters?: Parameters }>> }>().paths;
const query = (name: string, schema: Record<string, unknown>, required = false) => ({ name, in: 'query', required, schema });
const TRANSACTION_ID = query('transaction_id', { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' }, true);

test('built-in operations declare the query parameters CCF declares, transaction_id required on /tx, /local_tx and /receipt', async () => {
  for (const frontend of ['node', 'app', 'gov']) {
    const paths = await operationsOf(frontend);
    for (const path of ['/tx', '/local_tx', '/receipt']) assert.deepEqual(paths[path]!.get!.parameters, [TRANSACTION_ID], `/${frontend}${path}`);
    assert.deepEqual(paths['/commit']!.get!.parameters, [query('view_history', { type: 'boolean' }), query('view_history_since', { type: 'integer', minimum: 0 })]);
    assert.deepEqual(paths['/snp/host_data']!.get!.parameters, [query('key', { type: 'string' })]);
    assert.equal(paths['/api']!.get!.parameters, undefined, 'none where CCF declares none');
  }
  const node = await operationsOf('node');
  assert.deepEqual(node['/network/nodes']!.get!.parameters, [
    query('host', { type: 'string' }),
    query('port', { type: 'string' }),
    query('status', { type: 'string', enum: ['Pending', 'Trusted', 'Retired'] }),
  ]);
  for (const method of ['get', 'head']) {
    assert.deepEqual(node['/ledger-chunk']![method]!.parameters, [query('since', { type: 'integer', minimum: 0 }, true)], method);
    assert.deepEqual(node['/snapshot']![method]!.parameters, [query('since', { type: 'integer', minimum: 0 })], method);
  }
});

test("/gov/api lists the common endpoints and the governance API's service reads, and /node/api no /join, as CCF hides the rest of its governance API (documented by the API's own specification) and the join", async () => {
  const gov = await operationsOf('gov');
  const serviceReads = ['constitution', 'info', 'javascript-app', 'javascript-modules', 'javascript-modules/{moduleName}', 'join-policy', 'jwk', 'members', 'members/{memberId}', 'nodes', 'nodes/{nodeId}', 'users', 'users/{userId}'].map((path) => `/service/${path}`);
  assert.deepEqual(Object.keys(gov).sort(), ['/api', '/api/metrics', '/code', '/commit', '/local_tx', '/receipt', '/snp/host_data', '/snp/measurements', '/tx', ...serviceReads].sort());
  assert.deepEqual(Object.keys(gov['/tx']!), ['get']);
  // Each names the api-version it requires; the JavaScript ones answer text.
  const apiVersion = { name: 'api-version', in: 'query', required: true, schema: { type: 'string', enum: ['2024-07-01', '2023-06-01-preview'] } };
  assert.deepEqual(gov['/service/info']!.get!.parameters, [apiVersion]);
  const gaOnly = { ...apiVersion, schema: { type: 'string', enum: ['2024-07-01'] } };
  assert.deepEqual(gov['/service/javascript-app']!.get!.parameters, [gaOnly, { name: 'case', in: 'query', required: false, schema: { type: 'string', enum: ['original'] } }]);
  assert.deepEqual(gov['/service/javascript-modules']!.get!.parameters, [gaOnly]);
  assert.deepEqual(gov['/service/members/{memberId}']!.get!.parameters, [{ name: 'memberId', in: 'path', required: true, schema: { type: 'string' } }, apiVersion]);
  assert.deepEqual(Object.keys((gov['/service/constitution']!.get! as { responses: Record<string, { content: object }> }).responses['200']!.content), ['text/javascript']);
  const node = await operationsOf('node');
  assert.equal(node['/join'], undefined);
  assert.ok(node['/network/nodes/{node_id}']!.delete, 'the node frontend lists its other operations');
});

type Responses = Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
const documentOf = async (frontend: string) =>
  (await client.request('GET', `/${frontend}/api`)).json<{ paths: Record<string, Record<string, { responses: Responses }>>; components: { schemas: Record<string, unknown>; securitySchemes?: unknown } }>();
const DEFAULT = { description: 'Default response' };
const jsonAnswer = (description: string, name: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } });

test("built-in operations answer 200 with a JSON schema named as CCF's, beside the default response", async () => {
  for (const frontend of ['node', 'app', 'gov']) {
    const { paths, components } = await documentOf(frontend);
    assert.deepEqual(paths['/commit']!.get!.responses, { 200: jsonAnswer('the last committed transaction, with the first of each view when asked', 'GetCommit__Out'), default: DEFAULT }, frontend);
    assert.equal(paths['/tx']!.get!.responses['200']!.content!['application/json']!.schema.$ref, '#/components/schemas/GetTxStatus__Out');
    assert.deepEqual(components.schemas.GetCommit__Out, {
      type: 'object',
      properties: { transaction_id: { $ref: '#/components/schemas/TransactionId' }, view_history: { $ref: '#/components/schemas/TransactionId_array' } },
      required: ['transaction_id'],
    });
  }
  const node = (await documentOf('node')).paths;
  for (const [path, name] of [['/network', 'GetNetworkInfo__Out'], ['/network/nodes/{node_id}', 'GetNode__NodeInfo'], ['/metrics', 'NodeMetrics'], ['/consensus', 'ConsensusConfigDetails'], ['/memory', 'MemoryUsage__Out']] as const) {
    assert.equal(node[path]!.get!.responses['200']!.content!['application/json']!.schema.$ref, `#/components/schemas/${name}`, path);
  }
  assert.deepEqual(node['/network/nodes/{node_id}']!.delete!.responses['200'], jsonAnswer('true: the records of the node are removed', 'boolean'));
});

test('answers that are not JSON say their content type or have none; redirects and HEADs keep the default response only', async () => {
  const { paths } = await documentOf('node');
  const binary = { schema: { type: 'string', format: 'binary' } };
  assert.deepEqual(Object.keys(paths['/receipt']!.get!.responses['200']!.content!), ['application/json', 'application/cose']);
  assert.deepEqual(paths['/receipt']!.get!.responses['200']!.content!['application/cose'], binary);
  for (const path of ['/snapshot/{snapshot_name}', '/ledger-chunk/{chunk_name}']) {
    assert.deepEqual(paths[path]!.get!.responses['200']!.content, { 'application/octet-stream': binary }, path);
    assert.deepEqual(paths[path]!.head!.responses, { default: DEFAULT }, path);
  }
  assert.deepEqual(paths['/snapshot']!.get!.responses, { default: DEFAULT }, 'a redirect to the snapshot');
  assert.deepEqual(paths['/ready/app']!.get!.responses, { 204: { description: 'the application frontend serves' }, default: DEFAULT });
  assert.deepEqual(paths['/primary']!.head!.responses, { 200: { description: 'this node is the primary' }, default: DEFAULT });
});

test("each document's components.schemas holds every schema its operations refer to, and no other", async () => {
  for (const frontend of ['node', 'app', 'gov']) {
    const document = await documentOf(frontend);
    const referenced = new Set<string>();
    const visit = (value: unknown): void => {
      if (typeof value !== 'object' || value === null) return;
      const target = (value as { $ref?: unknown }).$ref;
      if (typeof target === 'string') referenced.add(target.replace('#/components/schemas/', ''));
      Object.values(value).forEach(visit);
    };
    visit(document.paths);
    visit(document.components.schemas);
    assert.deepEqual([...referenced].sort(), Object.keys(document.components.schemas).sort(), frontend);
  }
  const gov = await documentOf('gov');
  assert.equal(gov.components.schemas.NodeMetrics, undefined, "/gov/api lists its own operations' schemas only");
  // An app's operation may refer to the built-in schemas by name: they are listed with those they use.
  const app = await documentOf('app');
  assert.ok(app.components.schemas.NodeMetrics && app.components.schemas.SessionMetrics__Errors);
  // The app's security schemes stand beside the schemas.
  assert.deepEqual(Object.keys((await documentOf('app')).components).sort(), ['schemas', 'securitySchemes']);
});
