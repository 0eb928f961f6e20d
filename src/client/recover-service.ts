// Opens a service recovered from a lost service's ledger the way its members would, through the
// governance API: they pass transition_service_to_open with the previous and the new service
// certificates, then the recovery members submit their shares until the threshold is reached, and
// the service opens once the node has replayed the previous service's private state. Also: trusting
// the nodes that join it afterwards (they wait Pending once a service is open).

import { CocoError } from '../errors.js';
import { CocoClient } from './coco-client.js';
import { GovernanceClient, type GovernanceMember } from './governance-client.js';
import { againIfRolledBack, passProposal } from './open-service.js';

/** A member of the recovered service, with its encryption private key if it holds a recovery share. */
export interface RecoveringMember extends GovernanceMember {
  encryptionKeyPem?: string;
}

export interface RecoverServiceOptions {
  url: string;
  serviceCertPem: string;
  previousServiceCertPem: string;
  members: RecoveringMember[];
  onProgress?: (step: string) => void;
  /** How long the node may take to replay the previous service's private state once the shares are in (default 5 min). */
  openTimeoutMs?: number;
}

/** CCF's words in the answer to the share that reaches the threshold. */
const RECOVERY_INITIATED = 'End of recovery procedure initiated';
const OPEN_TIMEOUT_MS_DEFAULT = 300_000;
const POLL_MS = 100;

async function serviceStatus(governance: GovernanceClient): Promise<string> {
  return (await governance.getServiceInfo()).status;
}

export async function recoverService(options: RecoverServiceOptions): Promise<void> {
  const progress = options.onProgress ?? (() => undefined);
  const client = new CocoClient({ url: options.url, caCertPem: options.serviceCertPem });
  const governors = options.members.map((member) => new GovernanceClient(client, { member }));
  try {
    const [first] = governors;
    if (first === undefined) throw new CocoError('InvalidArgument', 'recovering a service needs at least one member');
    if ((await serviceStatus(first)) === 'Recovering') {
      const args = { previous_service_identity: options.previousServiceCertPem, next_service_identity: options.serviceCertPem };
      await againIfRolledBack('proposal: transition_service_to_open (previous and new service certificates)', progress, () => passProposal(client, governors, [{ name: 'transition_service_to_open', args }]));
    }
    if ((await serviceStatus(first)) === 'WaitingForRecoveryShares') {
      let initiated = false;
      for (const [i, governor] of governors.entries()) {
        const key = options.members[i]!.encryptionKeyPem;
        if (key === undefined) continue;
        const answer = await governor.submitRecoveryShare(key);
        progress(`member ${governor.memberId!.slice(0, 12)}…: ${answer.message.replace('\n', '; ')}`);
        if (answer.message.includes(RECOVERY_INITIATED)) {
          initiated = true;
          break;
        }
      }
      if (!initiated) throw new CocoError('NotEnoughRecoveryShares', 'every member with an encryption key submitted its share, and the threshold is not reached: the other recovery members must submit theirs (coco gov share)');
    }
    const deadline = Date.now() + (options.openTimeoutMs ?? OPEN_TIMEOUT_MS_DEFAULT);
    progress('waiting for the node to restore the private state and open the service');
    for (let status = await serviceStatus(first); status !== 'Open'; status = await serviceStatus(first)) {
      if (Date.now() > deadline) throw new CocoError('Timeout', `the recovered service is still ${status} after ${(options.openTimeoutMs ?? OPEN_TIMEOUT_MS_DEFAULT) / 1000} s; see the node's log`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    client.close();
  }
}

/** `valid_from` of a node certificate governance issues: now, as ASN.1 UTCTime (CCF's format). */
export function validFromNow(): string {
  return `${new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`;
}

/**
 * Trusts the nodes that joined an open service and wait Pending (transition_node_to_trusted, voted
 * by the members) until `expected` nodes are Trusted, or `timeoutMs` passes.
 */
export async function trustJoiningNodes(options: { url: string; serviceCertPem: string; members: GovernanceMember[]; expected: number; timeoutMs: number; onProgress?: (step: string) => void }): Promise<void> {
  const client = new CocoClient({ url: options.url, caCertPem: options.serviceCertPem });
  const governors = options.members.map((member) => new GovernanceClient(client, { member }));
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      const nodes = (await client.request('GET', '/node/network/nodes')).json<{ nodes: { node_id: string; status: string }[] }>().nodes;
      if (nodes.filter((node) => node.status === 'Trusted').length >= options.expected) return;
      for (const node of nodes.filter((n) => n.status === 'Pending')) {
        const args = { node_id: node.node_id, valid_from: validFromNow() };
        await againIfRolledBack(`proposal: transition_node_to_trusted ${node.node_id.slice(0, 12)}…`, options.onProgress ?? (() => undefined), () => passProposal(client, governors, [{ name: 'transition_node_to_trusted', args }]));
      }
      if (Date.now() > deadline) throw new CocoError('Timeout', `fewer than ${options.expected} nodes are Trusted after ${options.timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    client.close();
  }
}
