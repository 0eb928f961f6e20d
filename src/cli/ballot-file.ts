// The ballot `coco gov vote --ballot FILE` submits. The file is either CCF's JSON form,
// {"ballot": "<JS source>"}, or the JS source itself; the source is checked here as the service
// would run it (it evaluates and exports `vote`), since a member cannot vote twice on a proposal
// and a ballot that cannot run counts as no vote.

import { fromUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { ScriptChecker } from '../governance/script-checker.js';
import { Store } from '../kv/store.js';
import { readInputFile } from '../node/read-input.js';

/** The ballot's JS source from `path`, in either form; CocoError 'InvalidBallot' when it cannot run. */
export async function readBallotFile(path: string): Promise<string> {
  const text = fromUtf8(readInputFile(path, 'ballot'));
  const source = ballotSource(text, path);
  const checker = await ScriptChecker.create();
  try {
    // Evaluated as on the service, read-only, but against an empty store: a ballot reads no map at load.
    const host = { monotonicMs: () => performance.now(), untrustedNowMs: () => Date.now(), log: () => undefined };
    checker.checkBallot(source, { host, tx: new Store().beginTransaction(), kvContext: 'governance-readonly' });
  } catch (error) {
    if (error instanceof CocoError && error.code === 'InvalidBallot') {
      throw new CocoError('InvalidBallot', `--ballot ${path}: ${error.message}; nothing was submitted (a ballot is JS source exporting vote(proposal, proposerId), or {"ballot": "<that source>"})`);
    }
    throw error;
  } finally {
    checker.dispose();
  }
  return source;
}

function ballotSource(text: string, path: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  const ballot = (json as { ballot?: unknown } | null)?.ballot;
  if (typeof ballot === 'string') return ballot;
  throw new CocoError('InvalidBallot', `--ballot ${path} is JSON without a "ballot" string: give {"ballot": "<JS source exporting vote>"}, or the JS source itself`);
}
