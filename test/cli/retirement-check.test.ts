// How a node cut off after its retirement learns that it retired, against stand-in nodes over
// HTTPS: a deleted record counts only on the primary's word, and the node finds the primary
// through a backup it knows (HEAD /node/primary redirects there) when its own records name none
// that leads now.

import assert from 'node:assert/strict';
import type { Server } from 'node:https';
import { test } from 'node:test';
import { RetirementCheck } from '../../src/cli/retirement-check.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, Tables, type NodeInfo } from '../../src/governance/builtin-tables.js';
import { Store } from '../../src/kv/store.js';
import type { Node } from '../../src/node/node.js';
import { createServiceIdentity, type ServiceIdentity } from '../../src/node/identities.js';
import { standInNode, type StandInAnswer } from '../support/stand-in-node.js';
import { until } from '../support/until.js';

const BACKUP_PORT = 8130;
const PRIMARY_PORT = 8131;
const CLIENT_ONLY_PORT = 8133;
const ELECTION_TIMEOUT_MS = 50;

/** A stand-in node answering `routes` by "METHOD path". */
function standIn(service: ServiceIdentity, port: number, routes: Record<string, StandInAnswer>): Promise<Server> {
  return standInNode(service, port, (method, path) => routes[`${method} ${path}`]);
}

function record(address: string): NodeInfo {
  return {
    status: 'Trusted',
    node_data: {},
    public_key: '',
    quote_info: { format: 'Insecure_Virtual', quote: '', endorsements: '' },
    rpc_interfaces: { primary: { bind_address: address, published_address: address } },
    node_to_node_interface: { bind_address: address },
  };
}

test('a node whose record the primary deleted retires, when the nodes it knows are backups that name the primary', async (t) => {
  const service = createServiceIdentity(new Date(), 1);
  // A backup it knows: it no longer holds the record either, but only the primary's word counts.
  const backup = await standIn(service, BACKUP_PORT, {
    'GET /node/network/removable_nodes': { status: 200, body: { nodes: [] } },
    'HEAD /node/primary': { status: 308, headers: { location: `https://127.0.0.1:${PRIMARY_PORT}/node/primary` } },
  });
  // The primary, elected after this node stopped: not in its records.
  const primary = await standIn(service, PRIMARY_PORT, { 'GET /node/primary': { status: 200 }, 'HEAD /node/primary': { status: 200 } });
  // The backup's client interface, whose accepted_endpoints leave out /node.
  const clientOnly = await standInNode(service, CLIENT_ONLY_PORT, () => ({ status: 503, body: { error: { code: 'EndpointNotAccepted', message: 'not on this interface' } } }));
  t.after(() => {
    for (const server of [backup, primary, clientOnly]) server.close();
  });
  const operatorInterface = record(`127.0.0.1:${BACKUP_PORT}`).rpc_interfaces.primary!;
  const backupRecords: [string, NodeInfo][] = [
    ['the backup at its one interface', record(`127.0.0.1:${BACKUP_PORT}`)],
    ['the backup first at an interface that refuses /node', { ...record(`127.0.0.1:${CLIENT_ONLY_PORT}`), rpc_interfaces: { client: record(`127.0.0.1:${CLIENT_ONLY_PORT}`).rpc_interfaces.primary!, operator: operatorInterface } }],
  ];
  for (const [known, backupRecord] of backupRecords) {
    const self = 'a'.repeat(64);
    const store = new Store();
    const tx = store.beginTransaction();
    tx.map(Tables.nodesInfo).set(utf8('b'.repeat(64)), encodeJson(backupRecord));
    tx.map(Tables.nodesInfo).set(utf8(self), encodeJson({ ...record('127.0.0.1:8132'), status: 'Retired' }));
    store.commit(tx, 1n);
    let retired = false;
    const node = { nodeId: self, store, role: { role: 'Follower', view: 3, leaderId: undefined }, get stopNotice() { return retired; }, retire: () => void (retired = true) } as unknown as Node;
    const lines: string[] = [];
    const check = new RetirementCheck(node, service.certPem, ELECTION_TIMEOUT_MS, (line) => lines.push(line));
    try {
      await until(`the node to retire, knowing ${known}`, 10_000, async () => (retired ? true : undefined));
      assert.deepEqual(lines, [`this node's retirement from the service committed (the primary at 127.0.0.1:${PRIMARY_PORT} no longer knows it); it takes no further part: stop it`], known);
    } finally {
      check.stop();
    }
  }
});

/** A joiner's node: no state replicated to it yet, no primary heard. */
function emptyJoiner(self: string): { node: Node; retired: () => boolean } {
  let retired = false;
  const node = { nodeId: self, store: new Store(), role: { role: 'Follower', view: 2, leaderId: undefined }, get stopNotice() { return retired; }, retire: () => void (retired = true) } as unknown as Node;
  return { node, retired: () => retired };
}

test('a joiner whose trust never committed, with no state to find nodes in, asks the node it joined through: the primary does not know it, so it stops', async (t) => {
  const service = createServiceIdentity(new Date(), 1);
  const primary = await standIn(service, PRIMARY_PORT, { 'GET /node/network/removable_nodes': { status: 200, body: { nodes: [] } }, 'GET /node/primary': { status: 200 }, 'HEAD /node/primary': { status: 200 } });
  t.after(() => primary.close());
  const { node, retired } = emptyJoiner('c'.repeat(64));
  const lines: string[] = [];
  const check = new RetirementCheck(node, service.certPem, ELECTION_TIMEOUT_MS, (line) => lines.push(line), `127.0.0.1:${PRIMARY_PORT}`);
  t.after(() => check.stop());

  await until('the joiner to stop', 10_000, async () => (retired() ? true : undefined));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`^the service does not know this node \\(the primary at 127\\.0\\.0\\.1:${PRIMARY_PORT} no longer knows it\\): the trust it was told of when it joined did not commit`));
  assert.match(lines[0]!, /start a node that joins with empty ledger, snapshot and sealed-secrets paths/);
});

test('a joiner the primary lists as Pending (its trust rolled back) keeps running and says that members must trust it again, once a minute at most', async (t) => {
  const service = createServiceIdentity(new Date(), 1);
  const self = 'd'.repeat(64);
  let asked = 0;
  const primary = await standInNode(service, PRIMARY_PORT, (method, path) => {
    if (method === 'GET' && path === '/node/network/removable_nodes') return { status: 200, body: { nodes: [] } };
    if (method === 'GET' && path === `/node/network/nodes/${self}`) {
      asked++;
      return { status: 200, body: { ...record(`127.0.0.1:${PRIMARY_PORT + 5}`), node_id: self, status: 'Pending' } };
    }
    if (path === '/node/primary') return { status: 200 };
    return undefined;
  });
  t.after(() => primary.close());
  const { node, retired } = emptyJoiner(self);
  const lines: string[] = [];
  const check = new RetirementCheck(node, service.certPem, ELECTION_TIMEOUT_MS, (line) => lines.push(line), `127.0.0.1:${PRIMARY_PORT}`);
  t.after(() => check.stop());

  await until('the joiner to have asked several times', 10_000, async () => (asked >= 3 ? true : undefined));
  assert.equal(retired(), false);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, new RegExp(`^the primary at 127\\.0\\.0\\.1:${PRIMARY_PORT} lists this node as Pending, and no primary replicates to it`));
  assert.match(lines[0]!, /transition_node_to_trusted/);
});
