/**
 * The classifier's worker thread (see off-thread.ts): classifies each request its parent posts and
 * posts the verdict back with the job's id. Its own scan cache remembers what it scanned, as the
 * main thread's does.
 */
import { parentPort } from 'node:worker_threads';

import type { CanonicalRequest } from '../wire/canonical.js';
import { classifyRequest } from './classify.js';
import type { ClassifyOptions } from './types.js';

/** A job the parent posts. */
export interface ClassifyJob {
  id: number;
  request: CanonicalRequest;
  options: Pick<ClassifyOptions, 'indicatorWords' | 'patterns' | 'hint'>;
}

/** Each job arrives as the UTF-8 bytes of its JSON (transferred, not copied). */
parentPort?.on('message', (bytes: Uint8Array) => {
  // classifyRequest never throws; a failure here (bytes that are not a job, a reply that cannot be
  // cloned) ends the thread, which fails the job closed in the parent.
  const job = JSON.parse(new TextDecoder().decode(bytes)) as ClassifyJob;
  parentPort?.postMessage({ id: job.id, classification: classifyRequest(job.request, job.options) });
});
