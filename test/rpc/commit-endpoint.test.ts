// GET /commit's view history options on a node in this process (view 2, which began at 2.1), by
// CCF's get_commit: view_history_since is checked first, then view_history, when present, decides.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CocoClient } from '../../src/client/coco-client.js';
import { startInProcessNode, type InProcessNode } from '../support/in-process-node.js';
import { builtinEndpointsServer, type BuiltinEndpointsServer } from './rpc-server-fixture.js';

let service: BuiltinEndpointsServer;
let client: CocoClient;
let inProcess: InProcessNode;

before(async () => {
  inProcess = startInProcessNode();
  await inProcess.node.waitForCommit(2);
  service = await builtinEndpointsServer(inProcess);
  client = service.client;
});

after(() => service?.close());

const ALL = ['1.1', '2.1'];
const BAD_VIEW_HISTORY = 'Invalid value for view_history, must be one of [true, false] when present';
const SINCE_RANGE = /^Invalid value for view_history_since, must be in range \[1, current_term\]/;

/** Query, then the view history listed (undefined: none) or [status, message] of the refusal. */
const CASES: [string, string[] | undefined | [number, string | RegExp]][] = [
  ['', undefined],
  ['view_history=true', ALL],
  ['view_history=false', undefined],
  ['view_history_since=2', ['2.1']],
  ['view_history_since=2&view_history=true', ALL],
  ['view_history_since=2&view_history=false', undefined],
  ['view_history=yes', [400, BAD_VIEW_HISTORY]],
  ['view_history=TRUE', [400, BAD_VIEW_HISTORY]],
  ['view_history=', [400, BAD_VIEW_HISTORY]],
  ['view_history_since=2&view_history=1', [400, BAD_VIEW_HISTORY]],
  // view_history_since is checked first, whatever view_history says.
  ['view_history=true&view_history_since=0', [400, SINCE_RANGE]],
  ['view_history=true&view_history_since=3', [404, SINCE_RANGE]],
  ['view_history=false&view_history_since=two', [400, /view_history_since must be a view/]],
  // Views are uint64s, as CCF parses them: past the current is not found, up to the largest; past that, no view.
  ['view_history_since=9007199254740993', [404, SINCE_RANGE]],
  ['view_history_since=18446744073709551615', [404, SINCE_RANGE]],
  ['view_history_since=18446744073709551616', [400, /view_history_since must be a view/]],
];

test("GET /commit lists the view history by CCF's rule, and refuses a view_history other than true or false", async () => {
  for (const [query, expected] of CASES) {
    for (const frontend of ['node', 'gov']) {
      const answer = await client.request('GET', `/${frontend}/commit?${query}`, { allowError: true });
      if (expected !== undefined && typeof expected[0] === 'number') {
        const [status, message] = expected as [number, string | RegExp];
        const { error } = answer.json<{ error: { code: string; message: string } }>();
        assert.deepEqual([answer.status, error.code], [status, 'InvalidQueryParameterValue'], query);
        if (typeof message === 'string') assert.equal(error.message, message, query);
        else assert.match(error.message, message, query);
      } else {
        assert.equal(answer.status, 200, `${query}: ${answer.text()}`);
        assert.deepEqual(answer.json<{ view_history?: string[] }>().view_history, expected, query);
      }
    }
  }
});
