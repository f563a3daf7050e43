/**
 * Preloaded (`node --require`) into the CLI by a test: from the first SIGINT on, a handle keeps the
 * process alive for 5 s, longer than the 2 s a cancelled command gets to record its call, as a
 * socket slow to close on a loaded machine keeps it alive after the command returned.
 */
process.once('SIGINT', () => setTimeout(() => {}, 5000));
