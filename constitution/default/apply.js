// Coco's default constitution, part 4 of 4: `apply`, run once a proposal is Accepted, inside the same
// transaction (read-write on the governance tables). Applies the actions in order; any error fails
// the proposal and the host discards the whole transaction, so no action is applied halfway.
/* global actions, hasOwn */

export function apply(input, proposalId) {
  const proposal = JSON.parse(input);
  for (const entry of proposal.actions) {
    const action = actions.get(entry.name);
    if (action === undefined) {
      throw new Error(`unknown action ${JSON.stringify(entry.name)}: the constitution changed after the proposal was validated`);
    }
    action.apply(hasOwn(entry, "args") ? entry.args : undefined, proposalId);
  }
}
