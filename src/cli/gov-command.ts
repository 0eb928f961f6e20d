// `coco gov ...` and `coco app deploy`: governance as a member, from the command line. Connection
// flags default to the sandbox workspace (workspace/sandbox_common: service_url, service_cert.pem,
// member0_cert.pem, member0_privk.pem). Each change waits until it is Committed, showing progress.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAppBundle } from '../client/app-bundle-files.js';
import { CocoClient } from '../client/coco-client.js';
import { GovernanceClient } from '../client/governance-client.js';
import { ACCEPT_BALLOT } from '../client/open-service.js';
import { waitForCommit } from '../client/transactions.js';
import { CocoError } from '../errors.js';
import { formatTxId } from '../ledger/tx-id.js';
import { readPem, serviceEndpoint } from './service-connection.js';

export const REJECT_BALLOT = 'export function vote (proposal, proposerId) { return false }';

export const GOV_USAGE = `Usage: coco gov <command> [connection options]

Commands:
  propose FILE.json             submit a proposal ({"actions": [...]}) signed by the member
  vote ID --accept|--reject|--ballot FILE
                                submit a ballot on proposal ID
  withdraw ID                   withdraw your proposal ID
  ack                           refresh and acknowledge your state digest (become Active)
  status [ID]                   list proposals, or show proposal ID

Connection options (defaults: the sandbox in ./workspace):
  --url URL        the service (default: workspace/sandbox_common/service_url, else https://127.0.0.1:8000)
  --cacert PEM     the service certificate (default workspace/sandbox_common/service_cert.pem)
  --cert PEM       the member certificate (default workspace/sandbox_common/member0_cert.pem)
  --key PEM        the member private key (default workspace/sandbox_common/member0_privk.pem)
  --workspace DIR  where the sandbox files are (default ./workspace)
`;

export const APP_USAGE = `Usage: coco app deploy DIR|bundle.json [connection options]

Proposes set_js_app with the bundle, votes for it as the member and waits until it is Committed.
DIR holds bundle.json, or app.json with the modules under src/. Connection options as for coco gov.
`;

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  workspace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Connection {
  client: CocoClient;
  governance: GovernanceClient;
}

function connect(values: Record<string, string | boolean | undefined>): Connection {
  const { url, caCertPem, common } = serviceEndpoint(values);
  const certPem = readPem((values.cert as string | undefined) ?? join(common, 'member0_cert.pem'), 'member certificate', 'cert');
  const keyPem = readPem((values.key as string | undefined) ?? join(common, 'member0_privk.pem'), 'key', 'key');
  const client = new CocoClient({ url, caCertPem });
  return { client, governance: new GovernanceClient(client, { member: { certPem, keyPem } }) };
}

async function committed(connection: Connection): Promise<void> {
  const txId = connection.governance.lastTxId;
  if (txId === undefined) return;
  process.stderr.write(`waiting for ${formatTxId(txId)} to be committed`);
  await waitForCommit(connection.client, txId, { timeoutMs: 30_000, onProgress: () => process.stderr.write('.') });
  process.stderr.write(' committed\n');
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export async function runGov(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: { ...CONNECTION_OPTIONS, accept: { type: 'boolean' }, reject: { type: 'boolean' }, ballot: { type: 'string' } }, allowPositionals: true, strict: true });
  if (command === undefined || values.help || command === '--help' || command === '-h') {
    process.stdout.write(GOV_USAGE);
    return command === undefined ? 2 : 0;
  }
  const connection = connect(values);
  try {
    switch (command) {
      case 'propose': {
        const file = positionals[0];
        if (file === undefined) throw new CocoError('UsageError', 'coco gov propose needs a proposal file');
        const proposal = await connection.governance.createProposal(readFileSync(file, 'utf8'));
        await committed(connection);
        print(proposal);
        return 0;
      }
      case 'vote': {
        const id = positionals[0];
        const choices = [values.accept, values.reject, values.ballot !== undefined].filter(Boolean).length;
        if (id === undefined || choices !== 1) throw new CocoError('UsageError', 'coco gov vote ID needs exactly one of --accept, --reject, --ballot FILE');
        const ballot = values.accept ? ACCEPT_BALLOT : values.reject ? REJECT_BALLOT : readFileSync(values.ballot as string, 'utf8');
        const proposal = await connection.governance.submitBallot(id, ballot);
        await committed(connection);
        print(proposal);
        return 0;
      }
      case 'withdraw': {
        const id = positionals[0];
        if (id === undefined) throw new CocoError('UsageError', 'coco gov withdraw needs a proposal ID');
        const proposal = await connection.governance.withdrawProposal(id);
        await committed(connection);
        print(proposal ?? { proposalId: id, proposalState: 'Unknown (nothing to withdraw)' });
        return 0;
      }
      case 'ack': {
        const digest = await connection.governance.updateStateDigest();
        await connection.governance.ack(digest.stateDigest);
        await committed(connection);
        print({ memberId: connection.governance.memberId, status: 'Active', stateDigest: digest.stateDigest });
        return 0;
      }
      case 'status': {
        const id = positionals[0];
        print(id === undefined ? await connection.governance.listProposals() : await connection.governance.getProposal(id));
        return 0;
      }
      default:
        throw new CocoError('UsageError', `unknown gov command "${command}"\n\n${GOV_USAGE}`);
    }
  } finally {
    connection.client.close();
  }
}

export async function runApp(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const { values, positionals } = parseArgs({ args: rest, options: CONNECTION_OPTIONS, allowPositionals: true, strict: true });
  if (command !== 'deploy' || values.help) {
    process.stdout.write(APP_USAGE);
    return command === 'deploy' || command === '--help' || command === '-h' ? 0 : 2;
  }
  const path = positionals[0];
  if (path === undefined) throw new CocoError('UsageError', `coco app deploy needs a bundle\n\n${APP_USAGE}`);
  const bundle = loadAppBundle(path);
  const connection = connect(values);
  try {
    let proposal = await connection.governance.createProposal({ actions: [{ name: 'set_js_app', args: { bundle, disable_bytecode_cache: false } }] });
    if (proposal.proposalState === 'Open') proposal = await connection.governance.submitBallot(proposal.proposalId, ACCEPT_BALLOT);
    await committed(connection);
    print(proposal);
    if (proposal.proposalState !== 'Accepted') {
      process.stderr.write(`the proposal is ${proposal.proposalState}: other members must vote for ${proposal.proposalId}\n`);
    }
    return 0;
  } finally {
    connection.client.close();
  }
}
