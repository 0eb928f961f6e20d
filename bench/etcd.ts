// etcd, the reference of the network benchmark: Debian's `etcd-server` (installed with apt-get when
// missing), run as a cluster of members on loopback in a temporary directory, with TLS like Coco's:
// clients must present a certificate (user0's), and members authenticate each other with one.
// Writes go through etcd's JSON gateway, `POST /v3/kv/put`, which answers once the put is committed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { freePort } from '../src/cli/free-port.js';
import { CocoError } from '../src/errors.js';
import { createNodeIdentity } from '../src/node/identities.js';
import type { LoadTarget } from './load.js';
import { progress } from './measure.js';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 100;
const REQUEST_TIMEOUT_MS = 2_000;

export type EtcdBinary = { path: string; version: string } | { skipped: string };

export interface EtcdCluster {
  /** The leader's client URL, where the benchmark sends its writes. */
  leaderUrl: string;
  /** The certificate every member serves (self-signed), for clients to trust. */
  caPem: string;
  version: string;
  /** The members' process IDs. */
  pids: number[];
  stop(): Promise<void>;
}

/** The body of `POST /v3/kv/put` for message `i`: the same key and text as Coco's logging write. */
export function etcdPutBody(i: number): string {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  return JSON.stringify({ key: base64(`log/${i}`), value: base64(`benchmark message number ${i}`) });
}

function etcdVersion(path: string): string | undefined {
  const result = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return /etcd Version: (\S+)/.exec(result.stdout)?.[1] ?? 'unknown';
}

function findEtcd(): { path: string; version: string } | undefined {
  for (const path of ['etcd', '/usr/bin/etcd']) {
    const version = etcdVersion(path);
    if (version !== undefined) return { path, version };
  }
  return undefined;
}

const available = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined;

/** Finds `etcd`, or installs Debian's `etcd-server` (apt-get, through sudo when not root); says why not when it cannot. */
export function findOrInstallEtcd(): EtcdBinary {
  const found = findEtcd();
  if (found !== undefined) return found;
  if (process.platform !== 'linux' || !available('apt-get')) return { skipped: 'etcd is not installed and this is not a Debian system with apt-get' };
  const root = process.getuid?.() === 0;
  if (!root && !available('sudo')) return { skipped: 'etcd is not installed, and installing etcd-server needs root or sudo, neither of which is available' };
  const apt = (args: string[]) => {
    const command = root ? 'apt-get' : 'sudo';
    const argv = root ? args : ['apt-get', ...args];
    progress(`running: ${root ? '' : 'sudo '}apt-get ${args.join(' ')}`);
    // apt's progress goes to stderr with ours; stdout carries only the results table.
    return spawnSync(command, argv, { stdio: ['inherit', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  };
  const install = ['-y', '-o', 'DPkg::Lock::Timeout=120', 'install', 'etcd-server'];
  progress('etcd is not installed: installing Debian\'s etcd-server');
  if (!apt(install) && !(apt(['-o', 'DPkg::Lock::Timeout=120', 'update']) && apt(install))) {
    return { skipped: 'etcd is not installed and `apt-get install -y etcd-server` failed (see its output above)' };
  }
  return findEtcd() ?? { skipped: 'etcd-server was installed but no `etcd` binary runs' };
}

/** One JSON POST to an etcd member; the status and the parsed body. */
function post(agent: Agent, url: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`${url} did not answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject).end(body);
  });
}

async function stopMember(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(killer);
}

/**
 * Starts `size` members in `dir` on free loopback ports and waits until they all answer and agree
 * on a leader. `client` is the identity the cluster requires of its clients.
 */
export async function startEtcdCluster(binary: { path: string; version: string }, dir: string, size: number, client: { certPem: string; keyPem: string }): Promise<EtcdCluster> {
  const identity = createNodeIdentity({ ip: [HOST] }, new Date(), 1);
  const files = { cert: join(dir, 'etcd.pem'), key: join(dir, 'etcd-key.pem'), clients: join(dir, 'clients-ca.pem') };
  writeFileSync(files.cert, identity.selfSignedCertPem);
  writeFileSync(files.key, identity.keyPair.privateKeyPem, { mode: 0o600 });
  // The JSON gateway inside each member calls the member's gRPC port with the member's certificate.
  writeFileSync(files.clients, `${client.certPem.trim()}\n${identity.selfSignedCertPem.trim()}\n`);
  const ports: number[] = [];
  while (ports.length < size * 2) {
    const port = await freePort(HOST);
    if (!ports.includes(port)) ports.push(port);
  }
  const members = Array.from({ length: size }, (_, i) => ({ name: `m${i}`, clientUrl: `https://${HOST}:${ports[i]}`, peerUrl: `https://${HOST}:${ports[size + i]}`, log: join(dir, `m${i}.log`) }));
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopMember));
  };
  try {
    for (const member of members) {
      mkdirSync(join(dir, member.name));
      const log = openSync(member.log, 'a');
      children.push(spawn(binary.path, [
        '--name', member.name, '--data-dir', join(dir, member.name),
        '--listen-client-urls', member.clientUrl, '--advertise-client-urls', member.clientUrl,
        '--listen-peer-urls', member.peerUrl, '--initial-advertise-peer-urls', member.peerUrl,
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'coco-bench', '--initial-cluster-state', 'new',
        '--cert-file', files.cert, '--key-file', files.key, '--client-cert-auth', '--trusted-ca-file', files.clients,
        '--peer-cert-file', files.cert, '--peer-key-file', files.key, '--peer-client-cert-auth', '--peer-trusted-ca-file', files.cert,
        '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
      ], { stdio: ['ignore', log, log] }));
      closeSync(log);
    }
    const agent = new Agent({ keepAlive: true, ca: identity.selfSignedCertPem, cert: client.certPem, key: client.keyPem });
    try {
      const leaderUrl = await waitForLeader(agent, members, children);
      return { leaderUrl, caPem: identity.selfSignedCertPem, version: binary.version, pids: children.map((child) => child.pid!), stop };
    } finally {
      agent.destroy();
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

const logTail = (member: { name: string; log: string }) => `${member.name}: ${readFileSync(member.log, 'utf8').trim().split('\n').slice(-5).join('\n')}`;

async function waitForLeader(agent: Agent, members: { name: string; clientUrl: string; log: string }[], children: ChildProcess[]): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    children.forEach((child, i) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new CocoError('EtcdFailed', `etcd member ${members[i]!.name} exited (${child.exitCode ?? child.signalCode}):\n${logTail(members[i]!)}`);
      }
    });
    const statuses = await Promise.all(members.map((m) => post(agent, `${m.clientUrl}/v3/maintenance/status`, '{}').catch(() => undefined)));
    const leaders = new Set(statuses.map((s) => (s?.status === 200 ? String(s.json.leader ?? '') : '')));
    const leader = statuses.findIndex((s) => s !== undefined && s.json.leader !== undefined && s.json.leader === (s.json.header as { member_id?: string } | undefined)?.member_id);
    if (leaders.size === 1 && !leaders.has('') && !leaders.has('0') && leader >= 0) return members[leader]!.clientUrl;
    if (Date.now() > deadline) throw new CocoError('EtcdFailed', `the etcd cluster elected no leader within ${START_TIMEOUT_MS / 1000} s:\n${members.map(logTail).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** user0 calling the etcd leader. */
export function etcdTarget(cluster: EtcdCluster, client: { certPem: string; keyPem: string }): LoadTarget {
  return { url: cluster.leaderUrl, caPem: cluster.caPem, ...client };
}
