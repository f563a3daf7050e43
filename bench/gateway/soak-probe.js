// Preload for the soak (bench/gateway/soak.js), given to the gateway through NODE_OPTIONS
// (`--import=…/soak-probe.js`), so the product itself is unchanged. On SIGWINCH (ignored by node
// otherwise) it collects garbage fully and appends one JSON line of the process's memory to
// SOAK_PROBE_FILE: the heap after GC is what a leak grows, RSS alone also moves with the allocator.
// Heap snapshots come from node's own `--heapsnapshot-signal=SIGUSR2`.
import { appendFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env.SOAK_PROBE_FILE;
if (file !== undefined) {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc');
  process.on('SIGWINCH', () => {
    collect();
    collect();
    const memory = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), ...memory, handles: process.getActiveResourcesInfo().length })}\n`);
  });
}
