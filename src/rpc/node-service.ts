// Starts a node as a service: reads what the configuration names (member certificates, keys,
// constitution), creates the node and service identities, writes the genesis transaction, and
// serves every configured RPC interface over HTTPS. Returns a handle that stops it cleanly.

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { virtualQuote } from '../attestation/virtual-attestation.js';
import type { SubjectAltNames } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import type { NodeInfo } from '../governance/builtin-tables.js';
import { parseChunkName } from '../ledger/chunk-file.js';
import type { GenesisMember } from '../node/genesis.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, type ServiceIdentity } from '../node/identities.js';
import { LedgerSecrets } from '../ledger/ledger-secrets.js';
import { randomBytes } from '../crypto/random.js';
import { readSealedSecrets, writeSealedSecrets } from '../node/sealed-secrets.js';
import { replayLedger, type ReplayedLedger } from '../node/ledger-replay.js';
import { Node } from '../node/node.js';
import type { NodeConfig } from '../node/node-config.js';
import { readInputFile } from '../node/read-input.js';
import { addBuiltinEndpoints } from './builtin-endpoints.js';
import { addGovEndpoints } from './gov-endpoints.js';
import { appRequestHandler } from './app-endpoints.js';
import { JsConstitutionRunner } from '../governance/js-constitution-runner.js';
import { Governance } from '../governance/proposals.js';
import { AppRuntime } from './app-runtime.js';
import type { JsHost } from '../js/js-host.js';
import { BufferedLog } from '../node/buffered-log.js';
import { RpcServer } from './rpc-server.js';

const LEDGER_SECRET_BYTES = 32;

export interface RunningService {
  node: Node;
  /** `https://host:port` of each RPC interface, by name. */
  urls: Record<string, string>;
  serviceCertPem: string;
  stop(): Promise<void>;
}

function readText(path: string, what: string): string {
  return fromUtf8(readInputFile(path, what));
}

function readMembers(config: NodeConfig): GenesisMember[] {
  return config.start.members.map((member) => {
    let memberData: unknown;
    if (member.dataJsonFile !== undefined) {
      try {
        memberData = JSON.parse(readText(member.dataJsonFile, 'member data'));
      } catch (error) {
        if (error instanceof CocoError) throw error;
        throw new CocoError('InvalidConfig', `member data ${member.dataJsonFile} is not JSON`);
      }
    }
    return {
      certPem: readText(member.certificateFile, 'member certificate'),
      encryptionPublicKeyPem: member.encryptionPublicKeyFile === undefined ? undefined : readText(member.encryptionPublicKeyFile, 'member encryption key'),
      memberData,
    };
  });
}

function subjectAltNames(config: NodeConfig): SubjectAltNames {
  const ip = new Set<string>();
  const dns = new Set<string>(['localhost']);
  for (const iface of Object.values(config.rpcInterfaces)) {
    for (const host of [iface.bindAddress.host, iface.publishedAddress.replace(/:\d+$/, '')]) {
      if (isIP(host)) ip.add(host);
      else dns.add(host);
    }
  }
  return { ip: [...ip], dns: [...dns] };
}

/** What a virtual node reports as the digest of the code it runs. */
export function hostData(version: string): Uint8Array {
  return sha256(utf8(`coco ${version}`));
}

/** What the node starts from: a new service, or the service of its ledger directory (a restart). */
function startingPoint(config: NodeConfig, now: Date): { service: ServiceIdentity; secrets: LedgerSecrets; replayed: ReplayedLedger | undefined } {
  const hasLedger = existsSync(config.ledgerDirectory) && readdirSync(config.ledgerDirectory).some((name) => parseChunkName(name) !== undefined);
  if (!hasLedger) {
    const service = createServiceIdentity(now, config.start.serviceCertificateValidityDays, config.curve);
    const secrets = new LedgerSecrets([{ fromSeqno: 1, key: randomBytes(LEDGER_SECRET_BYTES) }]);
    writeSealedSecrets(config.sealedSecretsFile, { ledgerSecrets: [{ fromSeqno: 1, key: secrets.keyFor(1) }], serviceKeyPair: service.keyPair, serviceCertPem: service.certPem });
    return { service, secrets, replayed: undefined };
  }
  const sealed = readSealedSecrets(config.sealedSecretsFile);
  if (sealed === undefined) {
    throw new CocoError(
      'LedgerExists',
      `the ledger directory ${config.ledgerDirectory} holds a ledger, but ${config.sealedSecretsFile} (the secrets sealed when it was written) is missing, ` +
        'so this node cannot restart that service; that needs disaster recovery, which Coco does not support yet. ' +
        'Move the ledger aside (or point ledger.directory elsewhere) to start a new service.',
    );
  }
  const secrets = new LedgerSecrets(sealed.ledgerSecrets);
  const replayed = replayLedger(config.ledgerDirectory, secrets, sealed.serviceCertPem);
  return { service: { keyPair: sealed.serviceKeyPair, certPem: sealed.serviceCertPem }, secrets, replayed };
}

export async function startNodeService(config: NodeConfig, version: string): Promise<RunningService> {
  const now = new Date();
  const { service, secrets, replayed } = startingPoint(config, now);
  const members = replayed === undefined ? readMembers(config) : [];
  const constitution = replayed === undefined ? config.start.constitutionFiles.map((file) => readText(file, 'constitution file')).join('\n') : '';
  const sans = subjectAltNames(config);
  const nodeIdentity = createNodeIdentity(sans, now, config.nodeCertificateValidityDays, config.curve);
  const endorsedNodeCertPem = endorseNode(nodeIdentity, service, sans, now, config.nodeCertificateValidityDays);
  const nodeInfo: NodeInfo = {
    status: 'Trusted',
    node_data: {},
    public_key: nodeIdentity.keyPair.publicKeyPem,
    certificate_signing_request: nodeIdentity.csrPem,
    quote_info: virtualQuote(nodeIdentity.keyPair.publicKeyPem, hostData(version)),
    rpc_interfaces: Object.fromEntries(
      Object.entries(config.rpcInterfaces).map(([name, iface]) => [
        name,
        { bind_address: `${iface.bindAddress.host}:${iface.bindAddress.port}`, published_address: iface.publishedAddress, protocol: 'tcp', app_protocol: 'HTTP1' },
      ]),
    ),
  };
  const node = new Node({
    node: nodeIdentity,
    service,
    endorsedNodeCertPem,
    nodeInfo,
    ledgerDirectory: config.ledgerDirectory,
    ledgerChunkBytes: config.ledgerChunkBytes,
    signatureTxCount: config.signatureTxCount,
    signatureDelayMs: config.signatureDelayMs,
    nowMs: () => Date.now(),
    ledgerSecrets: secrets,
    ...(replayed === undefined ? {} : { replayed }),
  });
  if (replayed === undefined) {
    node.genesis({ members, constitution, recoveryThreshold: config.start.recoveryThreshold, serviceData: config.start.serviceData });
  } else {
    node.takeOver();
  }
  writeFileSync(config.serviceCertificateFile, service.certPem);
  if (config.pidFile !== undefined) writeFileSync(config.pidFile, `${process.pid}\n`);

  const log = new BufferedLog();
  const jsHost: JsHost = {
    monotonicMs: () => performance.now(),
    untrustedNowMs: () => Date.now(),
    log: (level, message) => log.line(level, message),
    consensus: {
      lastCommittedTxId: () => node.commitTxId,
      statusForTxId: (txId) => node.status(txId),
      viewForSeqno: (seqno) => (seqno >= 1 && seqno <= node.lastTxId.seqno ? node.lastTxId.view : null),
    },
  };
  const runner = await JsConstitutionRunner.create(jsHost, {
    serviceKeyPair: service.keyPair,
    serviceCertPem: service.certPem,
    triggerLedgerChunk: () => node.requestLedgerChunk(),
  });
  const governance = new Governance(runner);
  const app = new AppRuntime();
  const servers: RpcServer[] = [];
  const urls: Record<string, string> = {};
  try {
    for (const [name, iface] of Object.entries(config.rpcInterfaces)) {
      const server = new RpcServer({
        keyPem: nodeIdentity.keyPair.privateKeyPem,
        certPem: endorsedNodeCertPem,
        maxBodyBytes: config.maxBodyBytes,
        currentTxId: () => node.lastTxId,
        appFallback: appRequestHandler(node, app, jsHost, () => Math.floor(Date.now() / 1000)),
      });
      addBuiltinEndpoints(server, node, { version });
      addGovEndpoints(server, node, governance);
      const address = await server.listen(iface.bindAddress.host, iface.bindAddress.port);
      servers.push(server);
      urls[name] = `https://${iface.bindAddress.host}:${address.port}`;
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.close()));
    await node.stop();
    runner.dispose();
    app.dispose();
    throw new CocoError('ListenFailed', `cannot listen on the configured RPC interfaces: ${(error as Error).message}`);
  }
  return {
    node,
    urls,
    serviceCertPem: service.certPem,
    async stop() {
      await Promise.all(servers.map((s) => s.close()));
      await node.stop();
      runner.dispose();
      app.dispose();
      log.flush();
    },
  };
}
