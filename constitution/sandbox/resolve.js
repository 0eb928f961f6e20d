// Sandbox resolve, for local development only: every proposal is Accepted at once, without ballots,
// as in CCF's sandbox. Use it in place of default/resolve.js (actions, validate and apply unchanged);
// never in a service whose members do not fully trust each other.

export function resolve() {
  return "Accepted";
}
