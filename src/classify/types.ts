import type { SensitivityLevel } from '../common/vocabulary.js';
import type { OperatorPattern } from '../policy/types.js';

/** One reason a request is sensitive: which detector fired, where, and why. */
export interface Finding {
  /** Stable detector id, e.g. `secret.github-token`, `pii.card`, `indicator.word`, `classifier.error`. */
  detector: string;
  level: SensitivityLevel;
  /** Human-readable reason; never contains the unmasked secret. */
  reason: string;
  /** Which part of the request: `text`, `system`, `messages[2].content[0]`, `tools[0].description`, ... */
  location: string;
  /** UTF-16 offsets into the text of that part (`{0,0}` for a whole part such as an image). */
  span: { start: number; end: number };
  /** The matched text, MASKED for secrets, credentials and personal data (e.g. `ghp_…3f9a`). */
  excerpt: string;
}

/** The classifier's verdict on a request or a text. */
export interface Classification {
  /** The maximum over the findings and the caller's hint; `public` when there are none. */
  level: SensitivityLevel;
  findings: Finding[];
  /** True when a detector threw or overran its time budget: the level is then `restricted`. */
  failedClosed: boolean;
  durationMs?: number;
}

/** Options of `classifyText` and `classifyRequest`; normally taken from the policy. */
export interface ClassifyOptions {
  /** The operator's indicator words; the built-in defaults are always added. */
  indicatorWords: string[];
  patterns: OperatorPattern[];
  /** The caller's hint: raises the level, never lowers it. */
  hint?: SensitivityLevel;
  /** Replaces the built-in detectors (tests inject failing ones here). */
  detectors?: Detector[];
  /**
   * Budget for all detectors on one request. JavaScript regular expressions cannot be interrupted,
   * so an overrun is detected after the fact and fails closed. Default: 2000 ms + 20 ms per 100 KB.
   */
  timeoutMs?: number;
}

/** What a detector reports for one match, before the classifier adds the location. */
export interface DetectorMatch {
  detector: string;
  level: SensitivityLevel;
  reason: string;
  start: number;
  end: number;
  /** Already masked where needed; the detector decides what may be shown. */
  excerpt: string;
}

/** What every detector gets besides the text: the compiled operator configuration. */
export interface DetectorContext {
  indicatorWords: readonly string[];
  patterns: readonly OperatorPattern[];
}

/** A detector: a pure, synchronous scan of one text. It may throw; the classifier then fails closed. */
export interface Detector {
  /** Stable id of the detector family (`secret`, `pii.card`, ...). */
  id: string;
  scan(text: string, context: DetectorContext): DetectorMatch[];
}
