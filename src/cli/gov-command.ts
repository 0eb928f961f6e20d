// `coco gov ...` and `coco app deploy`: governance as a member, from the command line. Connection
// flags default to the sandbox workspace (workspace/sandbox_common: service_url, service_cert.pem,
// member0_cert.pem, member0_privk.pem). Each change waits until it is Committed, showing progress.
// A member whose key Coco cannot read signs with gov prepare / finish, then sends with gov submit.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CocoClient } from '../client/coco-client.js';
import { GovernanceClient, signedRequestTarget, type Proposal, type SignedRequestTarget } from '../client/governance-client.js';
import { ACCEPT_BALLOT, againIfRolledBack } from '../client/open-service.js';
import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { readInputFile } from '../node/read-input.js';
import { memberIdentity, otherNodeUrls, reachableEndpoint, readPem, serviceEndpoint, withService, type ServiceEndpoint } from './service-connection.js';
import { waitUntilCommitted } from './commit-wait.js';
import { runGovFinish, runGovPrepare } from './gov-external-signing.js';
import { asksForHelp, refuseExtraArguments, UsageError } from './usage-error.js';

export const REJECT_BALLOT = 'export function vote (proposal, proposerId) { return false }';

const CONNECTION_USAGE = `Connection options (defaults: the sandbox in ./workspace):
  --url URL        the service (default: workspace/sandbox_common/service_url, or the sandbox's
                   first other node that answers when that one does not; else https://127.0.0.1:8000)
  --cacert PEM     the service certificate (default workspace/sandbox_common/service_cert.pem)
  --cert PEM       the member certificate (default workspace/sandbox_common/member0_cert.pem)
  --key PEM        the member private key (default workspace/sandbox_common/member0_privk.pem)
  --workspace DIR  where the sandbox files are (default ./workspace)
`;

const BALLOT_FILE_USAGE = `FILE holds the ballot's JavaScript source, or CCF's JSON form {"ballot": "<that source>"}:
  export function vote (proposal, proposerId) { return JSON.parse(proposal).actions.length === 1 }
gov vote checks that it loads and exports vote before submitting it: a member votes once per proposal.`;

export const GOV_USAGE = `Usage: coco gov <command> [connection options]

Commands:
  propose FILE.json             submit a proposal ({"actions": [...]}) signed by the member
  vote ID --accept|--reject|--ballot FILE
                                submit a ballot on proposal ID; FILE holds the ballot's JS source
                                (export function vote (proposal, proposerId) { ... }) or CCF's
                                JSON form {"ballot": "<that source>"}
  withdraw ID                   withdraw your proposal ID
  ack                           refresh and acknowledge your state digest (become Active)
  share [--enc-key PEM]         submit your recovery share to a recovered service waiting for them
  status [ID]                   list proposals, or show proposal ID
  prepare ... / finish ...      sign with a key Coco cannot read (an HSM, a key vault): prepare
                                prints the digest to sign, finish makes the signed request of it
  submit FILE                   send a signed request (from gov finish) where its headers say
coco gov <command> --help shows a command's usage.

${CONNECTION_USAGE}`;

/** Each gov command: how many arguments it takes, and its usage (what it does, its arguments, the connection options). */
const GOV_COMMANDS: Record<string, { argumentsMax: number; usage: string }> = {
  propose: { argumentsMax: 1, usage: `Usage: coco gov propose FILE.json [connection options]

Submits the proposal in FILE.json ({"actions": [{"name": ..., "args": {...}}, ...]}) signed by the
member, waits until it is committed and prints it with its proposalId and state.

${CONNECTION_USAGE}` },
  vote: { argumentsMax: 1, usage: `Usage: coco gov vote ID --accept|--reject|--ballot FILE [connection options]

Submits the member's ballot on proposal ID, waits until it is committed and prints the proposal.
  --accept       a ballot that votes for it
  --reject       a ballot that votes against it
  --ballot FILE  the ballot in FILE
${BALLOT_FILE_USAGE}

${CONNECTION_USAGE}` },
  withdraw: { argumentsMax: 1, usage: `Usage: coco gov withdraw ID [connection options]

Withdraws proposal ID, which the member proposed and which is still Open, and prints it.

${CONNECTION_USAGE}` },
  ack: { argumentsMax: 0, usage: `Usage: coco gov ack [connection options]

Refreshes the member's state digest and acknowledges it: an Accepted member becomes Active and can
then propose and vote.

${CONNECTION_USAGE}` },
  share: { argumentsMax: 0, usage: `Usage: coco gov share [--enc-key PEM] [connection options]

Submits the member's recovery share to a recovered service waiting for them (after members passed
transition_service_to_open), as CCF's submit_recovery_share.sh: fetches the member's encrypted
share, decrypts it with the member's encryption private key, sends it signed, waits until it is
committed and prints the answer ("1/2 recovery shares successfully submitted"; the share that
reaches the threshold starts the end of the recovery).
  --enc-key PEM  the member's encryption private key (default, for the default member:
                 workspace/sandbox_common/member0_enc_privk.pem)

${CONNECTION_USAGE}` },
  status: { argumentsMax: 1, usage: `Usage: coco gov status [ID] [connection options]

Lists the proposals, or prints proposal ID and its state.

${CONNECTION_USAGE}` },
  submit: { argumentsMax: 1, usage: `Usage: coco gov submit FILE [connection options]

Sends the signed governance request in FILE (a COSE_Sign1, from coco gov finish or CCF's
ccf_cose_sign1_finish; '-' reads stdin) to the route its protected header names (its message type,
signer and proposal), waits until it is committed and prints the answer. The signature is the
member's: --cert and --key are not used.

${CONNECTION_USAGE}` },
};

export const APP_USAGE = `Usage: coco app deploy DIR|bundle.json [connection options]

Proposes set_js_app with the bundle, votes for it as the member and waits until it is Committed.
Exits 1 when the proposal is not Accepted by that vote (other members must vote: its ID is printed).
DIR holds bundle.json, or app.json with the built JavaScript modules under src/ (not both: either
could be the one meant): build a TypeScript app first. Every endpoint's js_module must be one of the
bundle's modules. Connection options as for coco gov.
`;

const CONNECTION_OPTIONS = {
  url: { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  workspace: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const VOTE_USAGE = 'coco gov vote ID --accept|--reject|--ballot FILE';
/** How long a change may take to commit: a healthy service commits within milliseconds. */
const COMMIT_TIMEOUT_MS = 30_000;

type Values = Record<string, string | boolean | undefined>;

interface Connection {
  endpoint: ServiceEndpoint;
  client: CocoClient;
  governance: GovernanceClient;
}

/**
 * Runs `use` as the member the flags name (default: the sandbox's member0), or as nobody for a
 * request signed beforehand, then closes the connection.
 */
async function asMember(values: Values, use: (connection: Connection) => Promise<number>, options: { signs: boolean } = { signs: true }): Promise<number> {
  const configured = serviceEndpoint(values);
  // The member's files are checked first: a mistake in them is reported even with no node to reach.
  const member = options.signs ? memberIdentity(values, configured.common) : undefined;
  const endpoint = await reachableEndpoint(values, configured);
  const client = new CocoClient({ url: endpoint.url, caCertPem: endpoint.caCertPem });
  try {
    return await withService(endpoint, () => use({ endpoint, client, governance: new GovernanceClient(client, member === undefined ? {} : { member }) }));
  } finally {
    client.close();
  }
}

/**
 * Waits until the last change is Committed, on one stderr line: a dot for each poll that found it
 * pending, and the node that said so when it was not the one asked.
 */
async function committed(connection: Connection): Promise<void> {
  const { endpoint, client, governance } = connection;
  const txId = governance.lastTxId;
  if (txId === undefined) return;
  process.stderr.write(`waiting for ${formatTxId(txId)} to be committed...`);
  let witness;
  try {
    witness = await waitUntilCommitted(client, endpoint.caCertPem, txId, {
      timeoutMs: COMMIT_TIMEOUT_MS,
      onProgress: () => process.stderr.write('.'),
      otherNodeUrls: () => otherNodeUrls(client, endpoint),
    });
  } catch (error) {
    // End the line, so that the error's own line does not run on from the dots.
    process.stderr.write(' failed\n');
    throw error;
  }
  const by = witness.node === 'asked' ? '' : `, as ${new URL(witness.url).host} says (${new URL(client.url).host}, the node asked, has not heard yet)`;
  process.stderr.write(` committed${by}\n`);
}

/**
 * The service's refusal of a member that has not yet acknowledged its state digest (an Accepted
 * member, not yet Active), with the command that does it.
 */
function withAdvice(error: unknown): unknown {
  if (!(error instanceof CocoError)) return error;
  if (error.message.includes('Signer is not an ACTIVE member')) {
    return new CocoError(error.code, `${error.message}: run \`coco gov ack\` first, as the same member (--cert, --key), then again`, { cause: error });
  }
  // CCF's words say the bound, not where it comes from, nor how to sign past it.
  if (error.message.includes('Proposal created too long ago')) {
    return new CocoError(
      error.code,
      `${error.message}: a proposal's created_at (this machine's clock) must pass the median of the service's recent proposals' (replay protection), and some were signed later than this clock reads; ` +
        'correct the clock, or sign the proposal with a later time: coco gov prepare --ccf-gov-msg-type proposal --ccf-gov-msg-created-at SECONDS, then gov finish and gov submit (coco gov prepare --help)',
      { cause: error },
    );
  }
  return error;
}

/** Where the signed request in `file` goes, or what it lacks to say so. */
function readTarget(envelope: Uint8Array, file: string): SignedRequestTarget {
  try {
    return signedRequestTarget(envelope);
  } catch (error) {
    if (!(error instanceof CocoError)) throw error;
    throw new CocoError(error.code, `${file === '-' ? 'stdin' : file}: ${error.message}; make it with coco gov finish`, { cause: error });
  }
}

/** Prints an answer as JSON; nothing for none (a 204). */
function print(value: unknown): void {
  if (value !== undefined) console.log(JSON.stringify(value, null, 2));
}

/** The service has no proposal `id`: it answers a withdrawal of it 204 (CCF's), most likely for a mistyped ID. */
function noProposalToWithdraw(id: string): CocoError {
  return new CocoError('ProposalNotFound', `the service has no proposal ${id}: nothing was withdrawn (coco gov status lists the proposals)`);
}

/**
 * What a gov command asks of the service, its arguments checked and its files read first: a
 * mistake is reported before any connection, and without a sandbox to connect to.
 */
async function govAction(command: string, positionals: string[], values: Values): Promise<(governance: GovernanceClient) => Promise<unknown>> {
  const id = positionals[0];
  // A proposal ID is a SHA-256 in hex, as CCF derives it: anything else is a usage error, found before connecting.
  if (id !== undefined && PROPOSAL_ID_COMMANDS.has(command) && !PROPOSAL_ID.test(id)) {
    throw new UsageError(`"${id}" is not a proposal ID: one is 64 lowercase hex digits, as coco gov propose prints it (proposalId)`, GOV_COMMANDS[command]!.usage);
  }
  switch (command) {
    case 'propose': {
      const file = positionals[0];
      if (file === undefined) throw new UsageError('gov propose needs a proposal file (coco gov propose FILE.json)', GOV_COMMANDS.propose!.usage);
      const proposal = fromUtf8(readInputFile(file, 'proposal'));
      return (governance) => governance.createProposal(proposal);
    }
    case 'vote': {
      if (id === undefined) throw new UsageError(`gov vote needs the ID of the proposal to vote on (${VOTE_USAGE})`, GOV_COMMANDS.vote!.usage);
      const choices = [values.accept, values.reject, values.ballot !== undefined].filter(Boolean).length;
      if (choices !== 1) throw new UsageError(`gov vote needs exactly one of --accept, --reject, --ballot FILE (${VOTE_USAGE})`, GOV_COMMANDS.vote!.usage);
      // Checking a ballot file runs it in QuickJS, loaded only then: --accept and --reject need none.
      const ballot = values.accept ? ACCEPT_BALLOT : values.reject ? REJECT_BALLOT : await (await import('./ballot-file.js')).readBallotFile(values.ballot as string);
      return (governance) => governance.submitBallot(id, ballot);
    }
    case 'withdraw':
      if (id === undefined) throw new UsageError('gov withdraw needs a proposal ID (coco gov withdraw ID)', GOV_COMMANDS.withdraw!.usage);
      return async (governance) => {
        const withdrawn = await governance.withdrawProposal(id);
        if (withdrawn === undefined) throw noProposalToWithdraw(id);
        return withdrawn;
      };
    case 'ack':
      return async (governance) => {
        const digest = await governance.updateStateDigest();
        await governance.ack(digest.stateDigest);
        return { memberId: governance.memberId, status: 'Active', stateDigest: digest.stateDigest };
      };
    case 'share': {
      if (values['enc-key'] === undefined && values.cert !== undefined) {
        throw new UsageError("gov share with --cert needs that member's encryption private key: --enc-key PEM (NAME_enc_privk.pem)", GOV_COMMANDS.share!.usage);
      }
      const keyPath = (values['enc-key'] as string | undefined) ?? join(serviceEndpoint(values).common, 'member0_enc_privk.pem');
      const encryptionKeyPem = readPem(keyPath, 'member encryption private key', 'enc-key');
      return (governance) => governance.submitRecoveryShare(encryptionKeyPem);
    }
    case 'status':
      return (governance) => (id === undefined ? governance.listProposals() : governance.getProposal(id));
    case 'submit': {
      const file = positionals[0];
      if (file === undefined) throw new UsageError('gov submit needs the signed request (coco gov submit FILE, or - for stdin)', GOV_COMMANDS.submit!.usage);
      const envelope = file === '-' ? new Uint8Array(readFileSync(0)) : readInputFile(file, 'signed request');
      const { msgType, proposalId } = readTarget(envelope, file);
      return async (governance) => {
        const response = await governance.submitSigned(envelope);
        if (response.body.length > 0) return response.json();
        if (msgType === 'withdrawal') throw noProposalToWithdraw(proposalId!);
        return undefined;
      };
    }
    default:
      throw new UsageError(`unknown gov command "${command}"`, GOV_USAGE);
  }
}

const PROPOSAL_ID = /^[0-9a-f]{64}$/;
const PROPOSAL_ID_COMMANDS: ReadonlySet<string> = new Set(['vote', 'withdraw', 'status']);

/** The options of one gov command only (the others take connection options alone). */
const COMMAND_OPTIONS: Record<string, readonly string[]> = { vote: ['accept', 'reject', 'ballot'], share: ['enc-key'] };

/** One parser reads every gov command's options: an option of another command is refused, not ignored (`propose --accept` votes nothing). */
function refuseOptionsOfOtherCommands(command: string, values: Record<string, unknown>, usage: string): void {
  const own = COMMAND_OPTIONS[command] ?? [];
  const foreign = Object.values(COMMAND_OPTIONS).flat().find((option) => values[option] !== undefined && !own.includes(option));
  if (foreign !== undefined) throw new UsageError(`--${foreign} does not apply to gov ${command}`, usage);
}

export async function runGov(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) throw new UsageError('missing gov command', GOV_USAGE);
  // Offline steps, with their own options: no service, no private key.
  if (command === 'prepare') return runGovPrepare(rest);
  if (command === 'finish') return runGovFinish(rest);
  const { values, positionals } = parseArgs({ args: rest, options: { ...CONNECTION_OPTIONS, accept: { type: 'boolean' }, reject: { type: 'boolean' }, ballot: { type: 'string' }, 'enc-key': { type: 'string' } }, allowPositionals: true, strict: true });
  const known = Object.hasOwn(GOV_COMMANDS, command) ? GOV_COMMANDS[command] : undefined;
  if (values.help || asksForHelp(command)) {
    process.stdout.write(known?.usage ?? GOV_USAGE);
    return 0;
  }
  if (known !== undefined) {
    refuseExtraArguments(positionals, known.argumentsMax, known.usage);
    refuseOptionsOfOtherCommands(command, values, known.usage);
  }
  const action = await govAction(command, positionals, values);
  return asMember(
    values,
    async (connection) => {
      const result = await action(connection.governance).catch((error: unknown) => {
        throw withAdvice(error);
      });
      await committed(connection);
      print(result);
      return 0;
    },
    { signs: command !== 'submit' },
  );
}

/** The proposal of `set_js_app` with `bundle`; a node's body limit reported as the bundle's size. */
async function proposeDeploy(connection: Connection, bundle: unknown, path: string): Promise<Proposal> {
  try {
    return await connection.governance.createProposal({ actions: [{ name: 'set_js_app', args: { bundle, disable_bytecode_cache: false } }] });
  } catch (error) {
    if (!(error instanceof CocoError) || error.code !== 'RequestBodyTooLarge') throw error;
    // A node's limit is set in its configuration only: say where, since no option of this command changes it.
    throw new CocoError(
      'AppBundleTooLarge',
      `${error.message}; the proposal deploying ${path} is too large for the node: raise http_configuration.max_body_size of the RPC interface in every node's configuration (a sandbox's sandbox_<i>/config.json) and restart the nodes, or bundle the app smaller`,
      { cause: error },
    );
  }
}

/**
 * The member's accepting ballot on the proposal it just made. A node that does not know the
 * proposal may have lost it to an election: its transaction then reports Invalid (TransactionInvalid).
 */
async function voteOnProposed(connection: Connection, proposalId: string, proposedAt: TxId | undefined): Promise<Proposal> {
  try {
    return await connection.governance.submitBallot(proposalId, ACCEPT_BALLOT);
  } catch (error) {
    if (!(error instanceof CocoError) || error.code !== 'ProposalNotFound' || proposedAt === undefined) throw error;
    await waitUntilCommitted(connection.client, connection.endpoint.caCertPem, proposedAt, {
      timeoutMs: COMMIT_TIMEOUT_MS,
      otherNodeUrls: () => otherNodeUrls(connection.client, connection.endpoint),
    });
    throw error;
  }
}

/** The proposal as the service has it now, when it is still Open; undefined when it is not, or is gone. */
async function stillOpen(connection: Connection, proposalId: string): Promise<Proposal | undefined> {
  try {
    const proposal = await connection.governance.getProposal(proposalId);
    return proposal.proposalState === 'Open' ? proposal : undefined;
  } catch (error) {
    if (error instanceof CocoError && error.code === 'ProposalNotFound') return undefined;
    throw error;
  }
}

export async function runApp(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined) throw new UsageError('missing app command', APP_USAGE);
  const { values, positionals } = parseArgs({ args: rest, options: CONNECTION_OPTIONS, allowPositionals: true, strict: true });
  if (values.help || asksForHelp(command)) {
    process.stdout.write(APP_USAGE);
    return 0;
  }
  if (command !== 'deploy') throw new UsageError(`unknown app command "${command}"`, APP_USAGE);
  const path = positionals[0];
  if (path === undefined) throw new UsageError('app deploy needs a bundle (coco app deploy DIR|bundle.json)', APP_USAGE);
  refuseExtraArguments(positionals, 1, APP_USAGE);
  const bundle = await (await import('./checked-app-bundle.js')).loadCheckedAppBundle(path);
  return asMember(values, async (connection) => {
    let proposed: { proposal: Proposal; at: TxId | undefined } | undefined;
    // Proposing and voting are two transactions: an election may roll back either, and the member's
    // own ballot is then taken again, on the same proposal while the service still has it Open.
    const proposal = await againIfRolledBack(`deploying ${path}`, (step) => process.stderr.write(`coco app deploy: ${step}\n`), async () => {
      const open = proposed === undefined ? undefined : await stillOpen(connection, proposed.proposal.proposalId);
      if (open === undefined) proposed = { proposal: await proposeDeploy(connection, bundle, path), at: connection.governance.lastTxId };
      let current = open ?? proposed!.proposal;
      if (current.proposalState === 'Open') current = await voteOnProposed(connection, current.proposalId, proposed!.at);
      await committed(connection);
      return current;
    });
    print(proposal);
    if (proposal.proposalState === 'Accepted') return 0;
    // Not deployed (yet): a script going on to use the app must not take this for success.
    const next = proposal.proposalState === 'Open' ? `other members must vote for ${proposal.proposalId}` : 'the app was not deployed';
    process.stderr.write(`coco app deploy: the proposal is ${proposal.proposalState}: ${next}\n`);
    return 1;
  });
}
