// CCF's `GET /node/memory` for a Node.js process. CCF 6 (include/ccf/pal/mem.h) answers its peak
// resident memory for the current and peak figures and its address-space limit (RLIMIT_AS) as the
// maximum. Coco answers the resident memory now and at its peak, and as the maximum the lowest
// ceiling on that same memory: the cgroup's limit, the address-space limit, the machine's memory.
// Not V8's heap_size_limit: it bounds the JavaScript heap only, and keys, values and ledger entries
// live in buffers outside it, so a node's resident memory may pass it (4.4 GB against 4.3 GB).

import { readSoftLimit, softLimit } from '../node/process-limits.js';
import { totalmem } from 'node:os';

export interface NodeMemory {
  max_total_heap_size: number;
  current_allocated_heap_size: number;
  peak_allocated_heap_size: number;
}

const ADDRESS_SPACE = 'Max address space';

/** The soft address-space limit in /proc/self/limits' text, in bytes; undefined when unlimited or not there. */
export function addressSpaceLimitBytes(limits: string): number | undefined {
  return softLimit(limits, ADDRESS_SPACE);
}

/** The lowest of the ceilings that apply; a cgroup without a limit reports one past any real memory. */
export function memoryCeilingBytes(ceilings: { cgroupBytes: number | undefined; addressSpaceBytes: number | undefined; physicalBytes: number }): number {
  const { cgroupBytes, addressSpaceBytes, physicalBytes } = ceilings;
  const limits = [physicalBytes];
  if (cgroupBytes !== undefined && cgroupBytes > 0 && cgroupBytes < Number.MAX_SAFE_INTEGER) limits.push(cgroupBytes);
  if (addressSpaceBytes !== undefined) limits.push(addressSpaceBytes);
  return Math.min(...limits);
}

/** This process's soft address-space limit in bytes; undefined when unlimited, or not on Linux. */
export function readAddressSpaceLimitBytes(): number | undefined {
  return readSoftLimit(ADDRESS_SPACE);
}

/** This process's figures, in CCF's shape. */
export function nodeMemory(): NodeMemory {
  return {
    max_total_heap_size: memoryCeilingBytes({
      cgroupBytes: process.constrainedMemory?.(),
      addressSpaceBytes: readAddressSpaceLimitBytes(),
      physicalBytes: totalmem(),
    }),
    current_allocated_heap_size: process.memoryUsage.rss(),
    peak_allocated_heap_size: process.resourceUsage().maxRSS * 1024,
  };
}
