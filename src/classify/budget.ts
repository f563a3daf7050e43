/**
 * How long classifying a request may take. Its own module, without the detectors: the gateway's
 * main thread times its classifier thread's jobs by it without loading the classifier.
 */

/**
 * The time a classification of `totalCharacters` characters may take before it fails closed (2 s,
 * plus 20 ms per 100 K characters). The classifier checks it between detector scans, not inside one.
 */
export function classificationBudgetMs(totalCharacters: number): number {
  return 2000 + Math.ceil(totalCharacters / 100_000) * 20;
}

/**
 * How long the classifier thread may hold one job (a request handed over as `characters` characters
 * of JSON, at least its content) before it is terminated: twice the classifier's own budget. A
 * classification that runs long stops itself at its budget, overrunning it by at most the detector
 * scan in progress (milliseconds per part at ~100 ms per MB) — the margin also covers parsing the job
 * and a fresh thread loading the classifier on a loaded machine. Past it the thread is stuck inside
 * one scan (an operator regex backtracking without end), which its own deadline cannot stop.
 */
export function classifierThreadJobTimeoutMs(characters: number): number {
  return 2 * classificationBudgetMs(characters);
}
