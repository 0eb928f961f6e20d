// `coco node --config FILE`: runs one node until SIGINT or SIGTERM, then stops it cleanly (a last
// signature, the ledger synced and closed). A bad configuration is one line and exit 1; so is a node
// that stopped applying transactions (a disk that refuses the ledger's writes), as CCF's host ends.

import { readFileSync } from 'node:fs';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import { parseNodeConfig } from '../node/node-config.js';
import { startNodeService } from './node-service.js';
import { configureLog, dropLogLinesOnWriteFailure, logLine, logReadinessLine } from '../node/buffered-log.js';

export const NODE_USAGE = `Usage: coco node --config FILE

Runs a Coco node. The configuration (JSON) names the RPC interfaces, the ledger directory, the
signature interval and, for a new service, its members and constitution; see docs/node-config.md.
The node writes the service certificate to command.service_certificate_file once it is up, and
prints one line per RPC interface. Stop it with Ctrl-C or SIGTERM.
`;

export function loadConfig(path: string) {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CocoError('InvalidConfig', `cannot read configuration ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (error) {
    throw new CocoError('InvalidConfig', `configuration ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseNodeConfig(json, path);
}

export async function runNode(configPath: string, version: string): Promise<number> {
  dropLogLinesOnWriteFailure();
  const config = loadConfig(configPath);
  configureLog(config.logging);
  // Signals are caught from the start: before the node serves there is nothing to stop cleanly
  // (a joiner may wait for members for a long time); after, the stop is clean.
  let ready = false;
  const stopRequested = new Promise<void>((resolve) => {
    const stop = () => {
      if (ready) return resolve();
      logLine('error', 'coco node: stopped before it was ready');
      process.exit(1);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  let service: Awaited<ReturnType<typeof startNodeService>>;
  try {
    service = await startNodeService(config, version);
  } catch (error) {
    // A node that stopped applying transactions while it started has logged why (one [error] line).
    if (!(error instanceof CocoError && error.code === 'NodeFailed')) throw error;
    return stoppedOnFailure();
  }
  ready = true;
  for (const [name, url] of Object.entries(service.urls)) logReadinessLine(`coco node ${service.node.nodeId}: ${name} listening on ${url}`);
  if (service.wroteServiceCertificate) logLine('info', `coco node: service certificate written to ${config.serviceCertificateFile}`);
  logReadinessLine('coco node: ready');
  const failure = await Promise.race([stopRequested.then(() => undefined), service.failed]);
  await service.stop();
  if (failure !== undefined) return stoppedOnFailure();
  logLine('info', 'coco node: stopped');
  return 0;
}

function stoppedOnFailure(): number {
  logLine('info', 'coco node: stopped, as it cannot go on (the error line logged before this one says why)');
  return 1;
}
