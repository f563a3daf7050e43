/**
 * Preloaded (`node --require`) into a syndicate process: in every worker thread it starts, the
 * thread's own message listener (the classifier's) is wrapped so that a job holding
 * `RUNAWAY-CLASSIFICATION` spins without end, as a classifier stuck in a runaway regex would; other
 * jobs are handled as before. (A listener of its own would take the first job before the
 * classifier's listener is attached.) The main thread is left as it is.
 */
const { isMainThread, parentPort } = require('node:worker_threads');

if (!isMainThread && parentPort) {
  const on = parentPort.on;
  parentPort.on = function (event, listener) {
    if (event !== 'message') return on.call(this, event, listener);
    return on.call(this, event, (bytes) => {
      if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('RUNAWAY-CLASSIFICATION')) for (;;);
      listener(bytes);
    });
  };
}
