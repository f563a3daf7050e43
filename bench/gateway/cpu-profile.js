// Preload that CPU-profiles a gateway started as operators start it (through its bin, with the
// node options the bin gives `serve`): node refuses `--cpu-prof` in NODE_OPTIONS, which is how the
// benches hand the gateway node options. One `.cpuprofile` per process, written when it exits
// (SIGTERM from the bench), for Chrome DevTools or `speedscope`:
//   BENCH_CPU_PROFILE_DIR=/tmp/prof BENCH_GATEWAY_NODE_ARGS=--import=$PWD/bench/gateway/cpu-profile.js \
//     BENCH_CONNECTIONS=32 npm run bench:gateway
// BENCH_CPU_PROFILE_INTERVAL_US sets the sampling interval (default 200 µs).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const directory = process.env.BENCH_CPU_PROFILE_DIR;
if (directory !== undefined) {
  // Posted in this thread: each call's callback runs before `post` returns, so the profile is
  // written within the 'exit' handler.
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US ?? 200) });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error === null) writeFileSync(join(directory, `gateway-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
