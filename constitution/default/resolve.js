// Coco's default constitution, part 3 of 4: `resolve`, run after submission and after every ballot
// (read-only). Accepted once a strict majority of the Active members voted for it; Rejected once
// enough voted against that a majority can no longer be reached; Open otherwise. Only submitted
// ballots of currently Active members count (the proposer has no implicit vote).
/* global ccf, Tables */

export function resolve(_proposal, _proposerId, votes, _proposalId) {
  const active = new Set();
  ccf.kv[Tables.membersInfo].forEach((value, key) => {
    if (ccf.bufToJsonCompatible(value).status === "Active") active.add(ccf.bufToStr(key));
  });
  const majority = Math.floor(active.size / 2) + 1;
  const counted = new Set();
  let inFavour = 0;
  let against = 0;
  for (const { member_id: memberId, vote } of votes) {
    if (!active.has(memberId) || counted.has(memberId)) continue;
    counted.add(memberId);
    if (vote === true) inFavour++;
    else if (vote === false) against++;
  }
  if (inFavour >= majority) return "Accepted";
  if (active.size - against < majority) return "Rejected";
  return "Open";
}
