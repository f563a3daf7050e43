import { maxSensitivity, sensitivityRank, type SensitivityLevel } from '../common/vocabulary.js';
import type { CanonicalRequest } from '../wire/canonical.js';
import { classificationBudgetMs } from './budget.js';
import { BUILT_IN_DETECTORS } from './detectors/index.js';
import { decodeForScan, type DecodedText, type DecodeProblem, type Encoding } from './encoded-text.js';
import { requestParts, type RequestPart } from './request-parts.js';
import { PartScanCache } from './scan-cache.js';
import { SpanIndex } from './scan.js';
import { foldForScan, type FoldedText } from './unicode-fold.js';
import type { Classification, ClassifyOptions, Detector, DetectorContext, DetectorMatch, Finding } from './types.js';

/** How an image part's finding begins: whatever the image shows, it is confidential (its pixels cannot be scanned). */
const IMAGE_PART_REASON = 'image part';

/** Whether a finding is the classifier's for an image part of the request (not a mention of one in its text). */
export function isImagePartFinding(finding: { detector: string; reason: string }): boolean {
  return finding.detector === 'image' && finding.reason.startsWith(`${IMAGE_PART_REASON} (`);
}

/** The user's own indicator words: always scanned for, whatever the options say. */
export const BUILT_IN_INDICATOR_WORDS: readonly string[] = ['password', 'credential', 'screenshot', 'camera'];

const ERROR_DETECTOR = 'classifier.error';
const NO_PATTERNS: ClassifyOptions['patterns'] = [];
/**
 * How far around a decoded run its view is scanned: what a detector reads of a match's
 * surroundings (a key before its value, a word before a number) and a match's own length lie
 * well within it. Scanning the whole decoded text instead cost twice the original's scan on an
 * agent's tool results, where JSON escapes are everywhere but far apart (bench/RESULTS.md).
 */
const DECODED_CONTEXT = 512;
/** How a finding made in the folded text says so. */
const FOLDED_NOTE = 'after Unicode folding: accents and invisible characters removed, full-width and other compatibility forms folded, look-alike letters of other scripts read as Latin, their digits as 0-9';

/** Scans of request parts this process has already made (see scan-cache.ts). */
const requestPartScans = new PartScanCache();

/**
 * Classifies a request before it is routed: every part is scanned (see `requestParts`); image
 * parts are confidential. A part this process scanned before under the same detector
 * configuration (an agent's resent system prompt, tools and earlier turns) reuses that scan.
 * Never throws: any failure — a detector throwing, overrunning its time budget, a part it cannot
 * read, a malformed request — yields `restricted` with a `classifier.error` finding and
 * `failedClosed: true`.
 */
export function classifyRequest(request: CanonicalRequest, options: ClassifyOptions): Classification {
  const started = performance.now();
  let parts: RequestPart[] = [];
  let unreadable: unknown;
  try {
    parts = requestParts(request);
  } catch (error) {
    unreadable = error;
  }
  const totalCharacters = parts.reduce((sum, part) => sum + (part.kind === 'text' ? part.text.length : 0), 0);
  const state = new ClassificationState(options, started, totalCharacters, requestPartScans);
  if (unreadable !== undefined) state.fail('request', `the request could not be read: ${describe(unreadable)}`);
  try {
    for (const part of parts) state.scanPart(part);
  } catch (error) {
    state.fail('request', `the request could not be scanned: ${describe(error)}`);
  }
  return state.result(options.hint);
}

/** Classifies one text (a prompt, a file); findings are located at `text`. Never throws. */
export function classifyText(text: string, options: ClassifyOptions): Classification {
  const started = performance.now();
  const state = new ClassificationState(options, started, typeof text === 'string' ? text.length : 0);
  try {
    if (typeof text !== 'string') throw new TypeError(`expected text, got ${typeof text}`);
    state.scanPart({ kind: 'text', location: 'text', text });
  } catch (error) {
    state.fail('text', `the text could not be read: ${describe(error)}`);
  }
  return state.result(options.hint);
}

/** The built-in words plus the caller's, merged once per (policy) word list rather than per call. */
const mergedWordLists = new WeakMap<readonly string[], readonly string[]>();

function mergedIndicatorWords(words: readonly string[] | undefined): readonly string[] {
  if (!Array.isArray(words)) return BUILT_IN_INDICATOR_WORDS;
  let merged = mergedWordLists.get(words);
  if (merged === undefined) {
    merged = [...BUILT_IN_INDICATOR_WORDS, ...words];
    mergedWordLists.set(words, merged);
  }
  return merged;
}

class ClassificationState {
  private readonly findings: Finding[] = [];
  private failedClosed = false;
  private readonly detectors: readonly Detector[];
  private readonly context: DetectorContext;
  private readonly deadline: number;
  private readonly started: number;
  private readonly scans: PartScanCache | undefined;

  constructor(options: ClassifyOptions, started: number, totalCharacters: number, scans?: PartScanCache) {
    this.started = started;
    this.scans = scans;
    this.detectors = options.detectors ?? BUILT_IN_DETECTORS;
    this.context = {
      indicatorWords: mergedIndicatorWords(options.indicatorWords),
      patterns: Array.isArray(options.patterns) ? options.patterns : NO_PATTERNS,
    };
    const budget = options.timeoutMs ?? classificationBudgetMs(totalCharacters);
    this.deadline = started + budget;
  }

  fail(location: string, reason: string): void {
    this.failedClosed = true;
    this.findings.push({ detector: ERROR_DETECTOR, level: 'restricted', reason: `${reason}: treated as restricted`, location, span: { start: 0, end: 0 }, excerpt: '' });
  }

  scanPart(part: RequestPart): void {
    if (part.kind === 'image') {
      this.findings.push({
        detector: 'image',
        level: 'confidential',
        reason: `${IMAGE_PART_REASON} (${part.description}): screenshots, camera and photo content are confidential`,
        location: part.location,
        span: { start: 0, end: 0 },
        excerpt: '[image]',
      });
      return;
    }
    if (part.kind === 'unscannable') {
      this.fail(part.location, `${part.description} cannot be scanned`);
      return;
    }
    const key = this.scans?.keyOf(part.text, this.detectors, this.context);
    const known = key === undefined ? undefined : this.scans?.get(key);
    const matches = known ?? this.scanText(part.text, part.location);
    // Only a complete scan is remembered: one cut short by a failure or the time budget is not.
    if (key !== undefined && known === undefined && !this.failedClosed) this.scans?.set(key, matches);
    const { joins } = part;
    for (const match of matches) {
      // Joined parts: what lies within one part was reported at that part.
      if (joins !== undefined && !joins.some((join) => match.start < join && join < match.end)) continue;
      this.findings.push({
        detector: match.detector,
        level: match.level,
        reason: match.reason,
        location: part.location,
        span: { start: match.start, end: match.end },
        excerpt: match.excerpt,
      });
    }
  }

  /**
   * Every detector over the text, over its Unicode-folded form (see unicode-fold.ts) and over its
   * decoded form (see encoded-text.ts), deduplicated.
   */
  private scanText(text: string, location: string): DetectorMatch[] {
    const matches = new KnownMatches(this.runDetectors(text, location));
    const folded = foldForScan(text);
    if (folded !== undefined) {
      // The excerpt shows the original text, masked as the detector masked its fold.
      this.scanView(matches, folded, location, (match) => ({ excerpt: folded.originalExcerpt(match.excerpt, match.start, match.end), reason: `${match.reason} (${FOLDED_NOTE})` }));
    }
    const problems: DecodeProblem[] = [];
    const decoded = decodeForScan(text, problems);
    this.failOnUnreadable(problems, location);
    // The fully decoded text, then (rarely: an encoding inside an encoding) the text between layers.
    for (const view of decoded === undefined ? [] : [decoded, ...decoded.earlier]) {
      for (const window of view.windows(DECODED_CONTEXT)) {
        this.scanView(
          matches,
          view,
          location,
          (match) => {
            // A match away from every decoded run was found in the original already; one right
            // beside a run may not have been (`key%3DAKIA…` reads `3DAKIA…` as written: no word
            // starts at the key). The excerpt is the detector's, of the decoded text: masked as it masks any value.
            const encodings = view.encodingsIn(match.start - 1, match.end + 1);
            return encodings.length === 0 ? undefined : { excerpt: match.excerpt, reason: `${match.reason} (${undoneEncodings(encodings)})` };
          },
          window,
        );
      }
    }
    if (folded !== undefined) this.scanFoldedThenDecoded(matches, folded, location);
    if (decoded !== undefined) this.scanDecodedThenFolded(matches, decoded, location);
    return deduplicate(matches.list);
  }

  /** Fails closed on each encoded run that could not be read safely (a decompression bomb: see `DecodeProblem`). */
  private failOnUnreadable(problems: readonly DecodeProblem[], location: string): void {
    for (const problem of problems) this.fail(location, `${problem.reason}, at characters ${problem.start}–${problem.end}`);
  }

  /**
   * The folded text decoded: an encoded run written with invisible characters in it (a zero-width
   * space splitting a base64 or hex run, a soft hyphen among percent-escapes) or in full-width or
   * other compatibility forms is decoded only once folded. Only when the fold changed something
   * inside a run that the folded text's decoding decodes; every other run was decoded as written.
   */
  private scanFoldedThenDecoded(matches: KnownMatches, folded: FoldedText, location: string): void {
    if (!folded.changes.some((change) => mayBeInEncodedRun(folded.text, change))) return;
    const problems: DecodeProblem[] = [];
    const decoded = decodeForScan(folded.text, problems);
    this.failOnUnreadable(
      problems.map((problem) => ({ ...problem, start: folded.originalStart(problem.start), end: folded.originalEnd(problem.end) })),
      location,
    );
    if (decoded === undefined || !decoded.encodedRuns.some(({ start, end }) => folded.changedInside(start, end))) return;
    for (const view of [decoded, ...decoded.earlier]) {
      const composed = { text: view.text, originalStart: (index: number) => folded.originalStart(view.originalStart(index)), originalEnd: (index: number) => folded.originalEnd(view.originalEnd(index)) };
      for (const window of view.windows(DECODED_CONTEXT)) {
        this.scanView(
          matches,
          composed,
          location,
          (match) => {
            const encodings = view.encodingsIn(match.start - 1, match.end + 1);
            return encodings.length === 0 ? undefined : { excerpt: match.excerpt, reason: `${match.reason} (after Unicode folding, then ${undoneEncodings(encodings).replace(/^after /, '')})` };
          },
          window,
        );
      }
    }
  }

  /**
   * Each decoded view's windows folded: an encoded value that decodes to invisible characters,
   * full-width forms or look-alike letters (base64 of `AKIA\u200BIOSF…`, `%E2%80%8B` inside a
   * key) reads as the plain value only once folded too. What lies away from every decoded run was
   * folded and scanned already.
   */
  private scanDecodedThenFolded(matches: KnownMatches, view: DecodedText, location: string): void {
    for (const window of view.windows(DECODED_CONTEXT)) {
      const folded = foldForScan(view.text.slice(window.start, window.end));
      if (folded === undefined) continue;
      const inView = (index: number, side: 'start' | 'end'): number => window.start + (side === 'start' ? folded.originalStart(index) : folded.originalEnd(index));
      const composed = { text: folded.text, originalStart: (index: number) => view.originalStart(inView(index, 'start')), originalEnd: (index: number) => view.originalEnd(inView(index, 'end')) };
      // Only around what the fold changed: the rest of the window was scanned decoded already
      // (a source map's base64 decodes to whole files with a few non-ASCII characters in them).
      for (const around of spansAround(folded.changes, DECODED_CONTEXT, folded.text.length)) {
        this.scanView(
          matches,
          composed,
          location,
          (match) => {
            const encodings = view.encodingsIn(inView(match.start, 'start') - 1, inView(match.end, 'end') + 1);
            return encodings.length === 0 ? undefined : { excerpt: match.excerpt, reason: `${match.reason} (${undoneEncodings(encodings)}, then Unicode folding)` };
          },
          around,
        );
      }
    }
  }

  /**
   * Adds to `matches` what the detectors find in another view of the text (folded, decoded), at
   * the original's offsets, each but those the original already has; `describe` gives a match's
   * excerpt and reason (undefined: not kept). `window`: the span of the view to scan (the whole by default).
   */
  private scanView(
    matches: KnownMatches,
    view: { text: string; originalStart(index: number): number; originalEnd(index: number): number },
    location: string,
    describe: (match: DetectorMatch) => Pick<DetectorMatch, 'excerpt' | 'reason'> | undefined,
    window: { start: number; end: number } = { start: 0, end: view.text.length },
  ): void {
    const scanned = window.start === 0 && window.end === view.text.length ? view.text : view.text.slice(window.start, window.end);
    for (const found of this.runDetectors(scanned, location)) {
      const match = window.start === 0 ? found : { ...found, start: found.start + window.start, end: found.end + window.start };
      const start = view.originalStart(match.start);
      const end = view.originalEnd(match.end);
      if (matches.has(match.detector, start, end)) continue;
      const described = describe(match);
      if (described !== undefined) matches.add({ ...match, ...described, start, end });
    }
  }

  private runDetectors(text: string, location: string): DetectorMatch[] {
    const matches: DetectorMatch[] = [];
    for (const detector of this.detectors) {
      if (this.failedClosed && performance.now() > this.deadline) return matches;
      try {
        // One at a time: spreading a detector's thousands of matches on a text of records (as call arguments) cost more.
        for (const match of detector.scan(text, this.context)) matches.push(match);
      } catch (error) {
        this.fail(location, `detector '${detector.id}' failed (${describe(error)})`);
      }
      if (performance.now() > this.deadline && !this.failedClosed) {
        this.fail(location, `classification exceeded its time budget (detector '${detector.id}')`);
      }
    }
    return matches;
  }

  result(hint: SensitivityLevel | undefined): Classification {
    let level: SensitivityLevel = 'public';
    for (const finding of this.findings) level = maxSensitivity(level, finding.level);
    if (hint !== undefined && sensitivityRank(hint) >= 0) level = maxSensitivity(level, hint);
    if (this.failedClosed) level = 'restricted';
    return { level, findings: this.findings, failedClosed: this.failedClosed, durationMs: round(performance.now() - this.started) };
  }
}

/**
 * The matches of one text so far, in the order found, indexed by detector and span: each view
 * (folded, decoded) adds only what no match of the same detector already covers, and asking that
 * by reading the whole list was quadratic in the matches on a text of records.
 */
class KnownMatches {
  readonly list: DetectorMatch[];
  private readonly byDetector = new Map<string, SpanIndex<DetectorMatch>>();

  constructor(matches: DetectorMatch[]) {
    this.list = [];
    for (const match of matches) this.add(match);
  }

  add(match: DetectorMatch): void {
    this.list.push(match);
    let spans = this.byDetector.get(match.detector);
    if (spans === undefined) {
      spans = new SpanIndex<DetectorMatch>();
      this.byDetector.set(match.detector, spans);
    }
    spans.add(match);
  }

  /** Whether a match of `detector` overlaps `[start, end)`. */
  has(detector: string, start: number, end: number): boolean {
    return this.byDetector.get(detector)?.overlaps(start, end) ?? false;
  }
}

/**
 * Drops a secret or credential finding that overlaps one already kept (the more specific comes
 * first), and a phone number that is really the digit groups of a card, IBAN or SSN.
 */
function deduplicate(matches: DetectorMatch[]): DetectorMatch[] {
  const kept: DetectorMatch[] = [];
  // Indexed by span: a text of records has thousands of matches, and comparing each with every
  // one kept before it was quadratic in them (see SpanIndex).
  const keptSpans = new SpanIndex<DetectorMatch>();
  const isCredential = (match: DetectorMatch): boolean => match.detector.startsWith('secret.') || match.detector.startsWith('credential.');
  const numbers = new SpanIndex<DetectorMatch>();
  for (const match of matches) if (match.detector === 'pii.card' || match.detector === 'pii.iban' || match.detector === 'pii.ssn') numbers.add(match);
  for (const match of matches) {
    // Digit groups of a card, IBAN or SSN are not also a phone number.
    if (match.detector === 'pii.phone' && numbers.overlaps(match.start, match.end)) continue;
    const overlapped = keptSpans.overlaps(
      match.start,
      match.end,
      (known) =>
        sensitivityRank(known.level) >= sensitivityRank(match.level) &&
        ((isCredential(known) && isCredential(match)) || (known.detector === match.detector && known.start === match.start)),
    );
    if (!overlapped) {
      kept.push(match);
      keptSpans.add(match);
    }
  }
  return kept.sort((a, b) => a.start - b.start || a.end - b.end);
}

/** The characters of the encodings decoded (base64 and hex, percent-escapes, string escapes, HTML character references). */
const ENCODED_CHARACTER = /[A-Za-z0-9+/=_\-%\\&#;]/;

/** The shortest encoded run that can hold a character a detector needs on its own: `\u0041`, `&#x41;`. */
const SHORTEST_ENCODED_RUN = 6;

/**
 * Whether a change the fold made (in the folded text) may lie inside an encoded run: what it
 * folded to is made of an encoding's characters and either is as long as an encoded run or touches
 * one of its characters (a full-width run, a full-width letter in a plain one), or it removed
 * characters between two of them (a zero-width space in a base64 run). A change to prose (`…` to
 * `...`, an accent removed, a short word of look-alike letters such as Russian `ее`) is not, and
 * spares a second decoding.
 */
function mayBeInEncodedRun(text: string, change: { start: number; end: number }): boolean {
  const before = ENCODED_CHARACTER.test(text.charAt(change.start - 1));
  const after = ENCODED_CHARACTER.test(text.charAt(change.end));
  if (change.start === change.end) return before && after;
  for (let index = change.start; index < change.end; index += 1) if (!ENCODED_CHARACTER.test(text.charAt(index))) return false;
  return change.end - change.start >= SHORTEST_ENCODED_RUN || before || after;
}

/** The spans within `context` characters of each of `spans` (in order), merged, within [0, length). */
function spansAround(spans: readonly { start: number; end: number }[], context: number, length: number): { start: number; end: number }[] {
  const merged: { start: number; end: number }[] = [];
  for (const span of spans) {
    const start = Math.max(0, span.start - context);
    const end = Math.min(length, span.end + context);
    const last = merged.at(-1);
    if (last !== undefined && start <= last.end) last.end = Math.max(last.end, end);
    else merged.push({ start, end });
  }
  return merged;
}

/** `after decoding base64 and joining lines broken by wrapping`: what was undone to find a match. */
function undoneEncodings(encodings: readonly Encoding[]): string {
  const decoded = encodings.filter((encoding) => encoding !== 'line wrapping');
  const steps = decoded.length === 0 ? [] : [`decoding ${decoded.join(' and ')}`];
  if (decoded.length < encodings.length) steps.push('joining lines broken by wrapping');
  return `after ${steps.join(' and ')}`;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 199)}…` : message;
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 1000) / 1000;
}
