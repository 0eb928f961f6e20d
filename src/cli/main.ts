// The `coco` command: parses arguments, dispatches to a subcommand, and turns every CocoError
// into one clear line on stderr and exit code 1 (2 for a usage error, with the command's usage).
// A stack trace means a bug in Coco.

import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CocoError } from '../errors.js';
import { LedgerVerificationError } from '../ledger/ledger-verifier.js';
import { logLine } from '../node/buffered-log.js';
import { describeSummary, failureJson, ledgerVerify, summaryJson, withSnapshotHint } from './ledger-verify.js';
import { fetchedSummary, ledgerFetch, TRIGGER_LEDGER_CHUNK_PROPOSAL } from './ledger-fetch.js';
import { ledgerShow, UNSIGNED_MARK } from './ledger-show.js';
import { reachableEndpoint, withService } from './service-connection.js';
import { runKeygen } from './keygen.js';
import { argumentProblem, asksForHelp, UsageError } from './usage-error.js';

const USAGE = `Usage: coco <command> [options]

Commands:
  ledger verify <dir> [--service-cert PEM] [--snapshot FILE [--previous-service-cert PEM]] [--json]
      Verify a ledger directory offline: every entry parses, chunks have no gap or overlap,
      each signature transaction signs the Merkle root rebuilt from the entries, and each
      signing node is endorsed by the service identity.
  ledger show <dir> [--tables REGEX] [--seqno N] [--json] [--insecure-skip-verification]
      Print each transaction's TxID, entry type and public writes and removes per map,
      verifying the ledger as ledger verify does (unless told to skip it).
  ledger fetch <dir> [--url URL] [--cacert PEM] [--since N] [--workspace DIR]
      Download a service's committed ledger chunks from a node into <dir>.
  sandbox [options]
      Start a local service and open it (npm start); coco sandbox --help lists its options
      (--nodes, --port, --workspace, --members, --users, --app, ...).
  node --config FILE
      Run a node (see docs/node-config.md).
  gov propose FILE | vote ID --accept|--reject|--ballot FILE | withdraw ID | ack | status [ID]
      Govern as a member (defaults: the sandbox workspace); see coco gov --help.
  gov prepare ... | finish ... | submit FILE
      Sign governance requests with a key held elsewhere (an HSM, a key vault), and send them.
  app deploy DIR|bundle.json
      Propose and vote the application bundle in.
  receipt verify FILE... --service-cert PEM
      Verify transaction receipts offline (each file given).
  keygen --name NAME [--gen-enc-key] [--curve secp384r1|secp256r1] [--dir DIR]
      Create a member or user identity: NAME_privk.pem and NAME_cert.pem (and with
      --gen-enc-key an RSA encryption key pair), as CCF's keygenerator.sh does.

Options:
  -h, --help     Show this help (coco <command> --help: that command's)
  --version      Print Coco's version
`;

const LEDGER_USAGE = `Usage: coco ledger <command> [options]

Commands:
  verify <dir> [--service-cert PEM] [--snapshot FILE [--previous-service-cert PEM]] [--json]
                                               verify a ledger directory offline
  show <dir> [--tables REGEX] [--seqno N] [--json] [--insecure-skip-verification]
                                               verify it and print its transactions and their public writes
  fetch <dir> [--url URL] [--cacert PEM] [--since N] [--workspace DIR]
                                               download a service's committed chunks into <dir>
coco ledger <command> --help shows a command's options.
`;

const LEDGER_VERIFY_USAGE = `Usage: coco ledger verify <dir> [--service-cert PEM] [--snapshot FILE [--previous-service-cert PEM]] [--json]

Verifies every chunk file (ledger_<first>-<last>[.committed]) in <dir>, in seqno order; files set
aside (.ignored, and .recovery ones, which the summary names) are skipped, as CCF skips them.
  --service-cert PEM  Trust this service identity instead of the one recorded in the ledger.
  --snapshot FILE     Start from this committed snapshot (snapshot_<seqno>_<evidence>.committed),
                      proven by its receipt against --service-cert (needed), and verify the chunks
                      after it: the ledger of a node that joined from a snapshot. No secret is needed.
  --previous-service-cert PEM
                      The snapshot is the previous service's, which a recovery started from (a
                      recovered node before its own first snapshot): its receipt is proven against
                      this certificate, and the ledger after it must change to --service-cert's
                      identity by that recovery.
  --json              Print the summary, or the failure, as JSON on stdout.
Exit status: 0 if everything verified; 1 with one line naming the file, the transaction and the
reason (with --json: {"verified": false, "file", "transaction_id", "seqno", "reason"}, each null
where no one file or transaction is at fault, e.g. an empty directory, and transaction_id null
with the seqno where the entry's view is unknown or altered); 2 for
wrong arguments (an unknown option, --snapshot without --service-cert, ...).
`;

const LEDGER_SHOW_USAGE = `Usage: coco ledger show <dir> [--tables REGEX] [--seqno N] [--json] [--insecure-skip-verification]

Verifies the whole ledger as \`coco ledger verify\` does while it prints it, as CCF's read_ledger.py:
transactions are printed in order once a signature covers them, and a failure ends the output.
Those no signature covers (after the last one, in a chunk still being written) are printed marked
${UNSIGNED_MARK} ("signed": false with --json); a note on stderr counts them.
  --tables REGEX  Only maps whose name matches REGEX (and only transactions that touch one).
  --seqno N       Only the transaction with this seqno.
  --json          One JSON object per transaction (JSON Lines), with "signed"; keys and values as
                  {"utf8": ...} when printable, {"hex": ...} otherwise.
  --insecure-skip-verification
                  Only parse: print without verifying anything (and say so on stderr).
Exit status: 0 if it showed a transaction; 1 if none matched (like grep), e.g. a --seqno past the
end, or if the ledger does not verify (one line on stderr naming the file, the transaction and the
reason, after what was printed).
`;

const LEDGER_FETCH_USAGE = `Usage: coco ledger fetch <dir> [--url URL] [--cacert PEM] [--since N] [--workspace DIR]

Downloads the committed ledger chunks (ledger_<first>-<last>.committed) a node serves at
/node/ledger-chunk, from the one holding seqno N (default 1) to the last committed one, into <dir>;
then \`coco ledger verify <dir>\` audits them, which needs every chunk from seqno 1 (with --since,
add the earlier chunks to <dir> first, or start from a snapshot with its --snapshot FILE, which
/node/snapshot serves). The node's interface must enable the operator
feature LedgerChunkRead (coco sandbox does). Only closed chunks are served: the chunk being written
closes at ledger.chunk_size (5 MiB by default), at a snapshot, or when members accept a
trigger_ledger_chunk proposal (${TRIGGER_LEDGER_CHUNK_PROPOSAL}).
  --url URL        the node (default: workspace/sandbox_common/service_url, else https://127.0.0.1:8000)
  --cacert PEM     the service certificate (default workspace/sandbox_common/service_cert.pem)
  --since N        the first seqno wanted (default 1)
  --workspace DIR  where the sandbox files are (default ./workspace)
`;

interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parse(args: string[], options: ParseArgsConfig['options'], usage: string, command: string): ParsedArgs {
  try {
    const parsed = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError(argumentProblem(error, command), usage);
  }
}

function oneDirectory(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError('expected exactly one ledger directory', usage);
  const directory = positionals[0]!;
  // A chunk file for its directory is a wrong argument, not a ledger that failed (exit 2, not 1).
  if (statSync(directory, { throwIfNoEntry: false })?.isFile() === true) {
    throw new UsageError(`${directory} is a file: pass the ledger directory that holds it (${dirname(directory) || '.'})`, usage);
  }
  return directory;
}

async function runLedger(args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  if (asksForHelp(subcommand)) return printUsage(LEDGER_USAGE);
  if (subcommand === 'verify') {
    const { values, positionals } = parse(
      rest,
      { 'service-cert': { type: 'string' }, snapshot: { type: 'string' }, 'previous-service-cert': { type: 'string' }, json: { type: 'boolean' } },
      LEDGER_VERIFY_USAGE,
      'ledger verify',
    );
    if (values.help) return printUsage(LEDGER_VERIFY_USAGE);
    const directory = oneDirectory(positionals, LEDGER_VERIFY_USAGE);
    let summary;
    try {
      summary = ledgerVerify({
        directory,
        serviceCertPath: values['service-cert'] as string | undefined,
        snapshotPath: values.snapshot as string | undefined,
        previousServiceCertPath: values['previous-service-cert'] as string | undefined,
      });
    } catch (caught) {
      const error = values.snapshot === undefined ? withSnapshotHint(caught) : caught;
      if (!(values.json && error instanceof CocoError && error.code !== 'UsageError')) throw error;
      console.log(JSON.stringify(failureJson(error), null, 2));
      return 1;
    }
    console.log(values.json ? JSON.stringify(summaryJson(summary), null, 2) : describeSummary(directory, summary));
    return 0;
  }
  if (subcommand === 'show') {
    const { values, positionals } = parse(
      rest,
      { tables: { type: 'string' }, seqno: { type: 'string' }, json: { type: 'boolean' }, 'insecure-skip-verification': { type: 'boolean' } },
      LEDGER_SHOW_USAGE,
      'ledger show',
    );
    if (values.help) return printUsage(LEDGER_SHOW_USAGE);
    const directory = oneDirectory(positionals, LEDGER_SHOW_USAGE);
    let tables: RegExp | undefined;
    if (values.tables !== undefined) {
      try {
        tables = new RegExp(values.tables as string);
      } catch (error) {
        throw new UsageError(`--tables is not a valid regular expression: ${(error as Error).message}`, LEDGER_SHOW_USAGE);
      }
    }
    const seqnoText = values.seqno as string | undefined;
    if (seqnoText !== undefined && !/^[1-9]\d{0,14}$/.test(seqnoText)) {
      throw new UsageError(`--seqno takes a positive whole number, not "${seqnoText}"`, LEDGER_SHOW_USAGE);
    }
    const verify = values['insecure-skip-verification'] !== true;
    if (!verify) console.error('coco ledger show: --insecure-skip-verification: nothing shown is verified');
    const shown = ledgerShow({
      directory,
      tables,
      seqno: seqnoText === undefined ? undefined : Number(seqnoText),
      json: values.json === true,
      verify,
      write: (line) => process.stdout.write(`${line}\n`),
      note: (line) => console.error(`coco ledger show: ${line}`),
    });
    if (shown > 0) return 0;
    console.error('coco ledger show: no transaction matched');
    return 1;
  }
  if (subcommand === 'fetch') {
    const { values, positionals } = parse(rest, { url: { type: 'string' }, cacert: { type: 'string' }, since: { type: 'string' }, workspace: { type: 'string' } }, LEDGER_FETCH_USAGE, 'ledger fetch');
    if (values.help) return printUsage(LEDGER_FETCH_USAGE);
    const directory = oneDirectory(positionals, LEDGER_FETCH_USAGE);
    const sinceText = (values.since as string | undefined) ?? '1';
    if (!/^[1-9]\d{0,14}$/.test(sinceText)) throw new UsageError(`--since takes a positive whole number, not "${sinceText}"`, LEDGER_FETCH_USAGE);
    const endpoint = await reachableEndpoint(values);
    const fetched = await withService(endpoint, () =>
      ledgerFetch({ url: endpoint.url, caCertPem: endpoint.caCertPem }, directory, Number(sinceText), (line) => console.error(`coco ledger fetch: ${line}`)),
    );
    console.log(fetchedSummary(fetched, directory));
    return 0;
  }
  throw new UsageError(subcommand ? `unknown ledger command "${subcommand}"` : 'missing ledger command', LEDGER_USAGE);
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

function printUsage(usage: string): number {
  process.stdout.write(usage);
  return 0;
}

export async function run(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) throw new UsageError('missing command', USAGE);
    if (asksForHelp(command) || command === 'help') return printUsage(USAGE);
    if (command === '--version') {
      console.log(`coco ${packageVersion()}`);
      return 0;
    }
    if (command === 'ledger') return await runLedger(rest);
    if (command === 'keygen') return await runKeygen(rest);
    // The node, the sandbox, governance and receipts load on demand: the node alone is some 400
    // modules (the EVM, QuickJS), and receipts need the Ethereum receipt encoding (the Keccak
    // hasher's WebAssembly), which a CLI command would otherwise load, and wait for, at every start.
    if (command === 'sandbox') return await (await import('./sandbox.js')).runSandbox(rest);
    if (command === 'gov') return await (await import('./gov-command.js')).runGov(rest);
    if (command === 'app') return await (await import('./gov-command.js')).runApp(rest);
    if (command === 'receipt') return (await import('./receipt-command.js')).runReceipt(rest);
    if (command === 'node') {
      const { NODE_USAGE, runNode } = await import('./node-command.js');
      const { values } = parse(rest, { config: { type: 'string' } }, NODE_USAGE, 'node');
      if (values.help) return printUsage(NODE_USAGE);
      if (typeof values.config !== 'string') throw new UsageError('--config FILE is required', NODE_USAGE);
      return await runNode(values.config, packageVersion());
    }
    throw new UsageError(`unknown command "${command}"`, USAGE);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`coco: ${error.message}\n\n${error.usage}`);
      return 2;
    }
    // A node refusing its ledger reports it in its log like its other failures (below).
    if (error instanceof LedgerVerificationError && command !== 'node') {
      console.error(`coco ledger ${command === 'ledger' ? rest[0] : 'verify'}: FAILED ${error.message}`);
      return 1;
    }
    const code = (error as { code?: unknown }).code;
    if ((typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) || (error instanceof CocoError && code === 'UsageError')) {
      // The help to see: a subcommand's, where the command has subcommands.
      const helpOf = ['gov', 'app', 'receipt'].includes(command!) && rest[0] !== undefined && !rest[0].startsWith('-') ? `${command} ${rest[0]}` : command!;
      console.error(`coco: ${argumentProblem(error, helpOf)}`);
      return 2;
    }
    if (error instanceof CocoError) {
      // A node's last words go to its log, in the log's format, like every other line there.
      const line = `coco: ${error.message} [${error.code}]`;
      if (command === 'node') logLine('error', line);
      else console.error(line);
      return 1;
    }
    throw error;
  }
}
