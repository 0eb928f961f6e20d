// Opens a new service the way its members would, through the governance API: each member refreshes
// and acknowledges its state digest (becoming Active), then member 0 proposes adding the users, the
// application and opening the service, and the members vote until each proposal is accepted.

import { certificateId } from '../crypto/entity-id.js';
import { CocoError } from '../errors.js';
import type { AppBundle } from './app-bundle-files.js';
import { CocoClient } from './coco-client.js';
import { GovernanceClient, type GovernanceMember, type Proposal } from './governance-client.js';
import { waitForCommit } from './transactions.js';

export const ACCEPT_BALLOT = 'export function vote (proposal, proposerId) { return true }';

export interface OpenServiceOptions {
  url: string;
  serviceCertPem: string;
  members: GovernanceMember[];
  users: { certPem: string; userData?: unknown }[];
  app?: AppBundle;
  onProgress?: (step: string) => void;
}

async function committed(client: CocoClient, governance: GovernanceClient): Promise<void> {
  if (governance.lastTxId !== undefined) await waitForCommit(client, governance.lastTxId, { timeoutMs: 30_000 });
}

/** Proposes as the first member, votes with the others until accepted; returns the final proposal. */
export async function passProposal(client: CocoClient, governors: GovernanceClient[], actions: { name: string; args: unknown }[]): Promise<Proposal> {
  const [proposer, ...others] = governors;
  if (proposer === undefined) throw new CocoError('InvalidArgument', 'passing a proposal needs at least one member');
  let proposal = await proposer.createProposal({ actions });
  for (const voter of [proposer, ...others]) {
    if (proposal.proposalState !== 'Open') break;
    proposal = await voter.submitBallot(proposal.proposalId, ACCEPT_BALLOT);
  }
  await committed(client, proposer);
  for (const voter of others) await committed(client, voter);
  if (proposal.proposalState !== 'Accepted') {
    throw new CocoError('ProposalNotAccepted', `proposal ${actions.map((a) => a.name).join(', ')} ended ${proposal.proposalState}${proposal.failure ? `: ${proposal.failure.reason}` : ''}`);
  }
  return proposal;
}

/** How many times a step of the opening is taken again after an election rolled it back. */
const ROLLED_BACK_ATTEMPTS_MAX = 5;

/**
 * Runs a step of the opening, again from its start when an election rolled back one of its
 * transactions (TransactionInvalid: it will never commit, so taking it again cannot do it twice). A
 * busy machine may elect a new primary while a network opens; that costs a step, not the start.
 */
export async function againIfRolledBack<T>(step: string, progress: (step: string) => void, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    progress(step);
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof CocoError && error.code === 'TransactionInvalid') || attempt === ROLLED_BACK_ATTEMPTS_MAX) throw error;
      progress(`${step}: rolled back by an election (${error.message}); taking it again`);
    }
  }
}

export async function openService(options: OpenServiceOptions): Promise<void> {
  const progress = options.onProgress ?? (() => undefined);
  const client = new CocoClient({ url: options.url, caCertPem: options.serviceCertPem });
  const governors = options.members.map((member) => new GovernanceClient(client, { member }));
  try {
    for (const governor of governors) {
      await againIfRolledBack(`member ${governor.memberId!.slice(0, 12)}… acknowledges the state digest`, progress, async () => {
        const digest = await governor.updateStateDigest();
        await governor.ack(digest.stateDigest);
        await committed(client, governor);
      });
    }
    for (const user of options.users) {
      const args = { cert: user.certPem, ...(user.userData === undefined ? {} : { user_data: user.userData }) };
      await againIfRolledBack(`proposal: set_user ${certificateId(user.certPem).slice(0, 12)}…`, progress, () => passProposal(client, governors, [{ name: 'set_user', args }]));
    }
    if (options.app !== undefined) {
      const bundle = options.app;
      await againIfRolledBack('proposal: set_js_app', progress, () => passProposal(client, governors, [{ name: 'set_js_app', args: { bundle, disable_bytecode_cache: false } }]));
    }
    await againIfRolledBack('proposal: transition_service_to_open', progress, () => passProposal(client, governors, [{ name: 'transition_service_to_open', args: { next_service_identity: options.serviceCertPem } }]));
  } finally {
    client.close();
  }
}
