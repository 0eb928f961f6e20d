// Coco's default constitution, part 2 of 4: `validate`, run when a proposal is submitted (read-only).
// A proposal is valid when it is `{"actions": [{"name", "args"}, ...]}`, every name is a known action
// and every action's own `validate(args)` passes; the description names each failing action by position.
/* global actions, isPlainObject, hasOwn */

export function validate(input) {
  let proposal;
  try {
    proposal = JSON.parse(input);
  } catch (error) {
    return { valid: false, description: `the proposal is not JSON: ${error.message}` };
  }
  const shape = 'a proposal is {"actions": [{"name": "<action>", "args": {...}}, ...]}';
  if (!isPlainObject(proposal) || !Array.isArray(proposal.actions)) return { valid: false, description: shape };
  const extra = Object.keys(proposal).filter((name) => name !== "actions");
  if (extra.length > 0) return { valid: false, description: `${shape}; unexpected field ${extra.join(", ")}` };

  const failures = [];
  proposal.actions.forEach((entry, position) => {
    const where = `actions[${position}]`;
    if (!isPlainObject(entry) || typeof entry.name !== "string") {
      failures.push(`${where}: must be {"name": "<action>", "args": {...}}`);
      return;
    }
    const unexpected = Object.keys(entry).filter((name) => name !== "name" && name !== "args");
    if (unexpected.length > 0) {
      failures.push(`${where} ${entry.name}: unexpected field ${unexpected.join(", ")} (an action has only "name" and "args")`);
      return;
    }
    if (!actions.has(entry.name)) {
      failures.push(`${where}: unknown action ${JSON.stringify(entry.name)}`);
      return;
    }
    try {
      actions.get(entry.name).validate(hasOwn(entry, "args") ? entry.args : undefined);
    } catch (error) {
      failures.push(`${where} ${entry.name}: ${error.message}`);
    }
  });
  return failures.length === 0 ? { valid: true, description: "OK" } : { valid: false, description: failures.join("\n") };
}
