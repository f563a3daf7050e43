/**
 * Preloaded (`node --require`) into a syndicate process to make every read of `Date.now()` an hour
 * later than the one before, from SYNDICATE_TEST_CLOCK_START (epoch ms): two reads of the clock
 * where the command means one time are then always in different hours, however fast the machine.
 * (`new Date()` without arguments reads the system clock, not `Date.now`: unchanged.)
 */
const start = Number(process.env.SYNDICATE_TEST_CLOCK_START);
if (!Number.isSafeInteger(start)) throw new Error(`hour-per-read-clock.cjs: SYNDICATE_TEST_CLOCK_START must be epoch milliseconds, got ${process.env.SYNDICATE_TEST_CLOCK_START}`);
let reads = 0;
Date.now = () => start + 3_600_000 * reads++;
