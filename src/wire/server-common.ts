import type { StreamPart, Usage, WireWarning } from './canonical.js';
import type { ClientError } from './client-errors.js';

/** A rendered response body for a gateway client (the exact bytes to send) and what it could not represent. */
export interface RenderedBody {
  body: string;
  warnings: WireWarning[];
}

/** Folds a usage part into the running totals; usage counts are cumulative, so later values win. */
export function mergeUsage(target: Partial<Usage>, update: Partial<Usage>): void {
  for (const [key, value] of Object.entries(update) as [keyof Usage, number | undefined][]) {
    if (value !== undefined) target[key] = value;
  }
}

/** An upstream's error in a stream, as the client error that ends the client's stream. */
export function streamErrorOf(part: Extract<StreamPart, { type: 'error' }>): ClientError {
  return { kind: 'upstream', message: part.message, ...(part.errorType === undefined ? {} : { code: part.errorType }) };
}
