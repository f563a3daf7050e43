// Preload (`--import`, through BENCH_GATEWAY_NODE_ARGS as cpu-profile.js) that counts the bytes a
// gateway allocates on V8's heap, for bench/gateway/alloc.js. Node 20's `v8.getHeapStatistics()`
// has no `total_allocated_bytes`, so the count is the heap's growth plus what every GC freed
// (`v8.GCProfiler` records each GC's used heap before and after). Buffers' backing stores live
// outside V8's heap and are not counted (their small JavaScript handles are).
// On SIGUSR2 it writes `{ seq, allocatedBytes, scavenges, markCompacts }` to
// `$BENCH_ALLOC_DIR/gateway-<pid>.json`; with BENCH_HEAP_PROFILE_INTERVAL (bytes) it also runs
// V8's sampling heap profiler (objects later collected included) and writes the profile of the
// phase that ended to `gateway-<pid>-<seq>.heapprofile`. BENCH_NO_INLINING=1 turns TurboFan's inlining off.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { GCProfiler, getHeapStatistics, setFlagsFromString } from 'node:v8';

const directory = process.env.BENCH_ALLOC_DIR;
if (directory !== undefined) {
  // The heap profiler names the outermost function of optimised code: without inlining, each callee is its own.
  if (process.env.BENCH_NO_INLINING === '1') setFlagsFromString('--no-turbo-inlining');
  const usedAtStart = getHeapStatistics().used_heap_size;
  let freed = 0;
  let scavenges = 0;
  let markCompacts = 0;
  let profiler = new GCProfiler();
  profiler.start();
  const samplingInterval = Number(process.env.BENCH_HEAP_PROFILE_INTERVAL ?? 0);
  let session;
  if (samplingInterval > 0) {
    session = new Session();
    session.connect();
    session.post('HeapProfiler.enable');
  }
  const startSampling = () =>
    session?.post('HeapProfiler.startSampling', { samplingInterval, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  startSampling();
  /** Bytes allocated since the start, the hook's own snapshots included. */
  const allocatedSoFar = () => {
    const used = getHeapStatistics().used_heap_size;
    for (const gc of profiler.stop()?.statistics ?? []) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      if (gc.gcType === 'Scavenge' || gc.gcType === 'MinorMarkCompact') scavenges += 1;
      else if (gc.gcType === 'MarkSweepCompact') markCompacts += 1;
    }
    profiler = new GCProfiler();
    profiler.start();
    return used - usedAtStart + freed;
  };
  let seq = 0;
  let ownBytes = 0; // what the snapshots themselves allocated (the heap profile's JSON), left out of the count
  process.on('SIGUSR2', () => {
    const allocated = allocatedSoFar();
    seq += 1;
    if (session !== undefined) {
      // Posted in this thread: the callback runs before `post` returns.
      session.post('HeapProfiler.stopSampling', (error, result) => {
        if (error === null) writeFileSync(join(directory, `gateway-${process.pid}-${seq}.heapprofile`), JSON.stringify(result.profile));
      });
      startSampling();
    }
    writeFileSync(join(directory, `gateway-${process.pid}.json`), JSON.stringify({ seq, allocatedBytes: allocated - ownBytes, scavenges, markCompacts }));
    ownBytes += allocatedSoFar() - allocated;
  });
}
