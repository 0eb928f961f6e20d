// Opening a service through governance: a step that an election rolled back is taken again, since a
// transaction reported Invalid will never commit; any other failure ends the opening at once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { againIfRolledBack } from '../../src/client/open-service.js';

const rolledBack = () => new CocoError('TransactionInvalid', 'transaction 2.15 is Invalid: it was rolled back and will never commit; submit the request again');

test('a step whose transaction an election rolled back is taken again, and the progress says why', async () => {
  const steps: string[] = [];
  let runs = 0;
  await againIfRolledBack('proposal: set_user 7303f35fee8b…', (step) => steps.push(step), async () => {
    runs += 1;
    if (runs < 3) throw rolledBack();
  });
  assert.equal(runs, 3);
  assert.equal(steps.length, 5, steps.join('\n'));
  assert.match(steps[1]!, /^proposal: set_user 7303f35fee8b…: rolled back by an election \(transaction 2\.15 is Invalid.*\); taking it again$/);
});

test('any other failure ends the opening at once, and a step rolled back every time gives up with the rollback', async () => {
  let runs = 0;
  const failed = new CocoError('ProposalNotAccepted', 'proposal set_user ended Rejected');
  await assert.rejects(
    againIfRolledBack('proposal: set_user', () => undefined, async () => {
      runs += 1;
      throw failed;
    }),
    (error) => error === failed,
  );
  assert.equal(runs, 1);
  runs = 0;
  await assert.rejects(
    againIfRolledBack('proposal: set_user', () => undefined, async () => {
      runs += 1;
      throw rolledBack();
    }),
    (error) => error instanceof CocoError && error.code === 'TransactionInvalid',
  );
  assert.equal(runs, 5);
});
