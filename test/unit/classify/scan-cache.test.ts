import { describe, expect, it } from 'vitest';
import { BUILT_IN_DETECTORS, classifyRequest, classifyText, type Detector, type DetectorMatch } from '../../../src/classify/index.js';
import { MIN_CACHED_PART_LENGTH, PartScanCache } from '../../../src/classify/scan-cache.js';
import type { CanonicalMessage, CanonicalRequest } from '../../../src/wire/canonical.js';
import { countingDetector } from '../../helpers/counting-detector.js';

const LONG_SYSTEM = `You are a coding agent. Follow the repository's conventions. ${'Read files before editing them. '.repeat(20)}`;
const LONG_TURN = `Here is the failing log; the on-call is jane.roe@example.com. ${'stack frame at handler (src/app.ts:42) '.repeat(12)}`;

function conversation(messages: CanonicalMessage[]): CanonicalRequest {
  return { model: 'm', system: LONG_SYSTEM, messages, stream: false };
}

describe('request parts already scanned are not scanned again', () => {
  it('an agent\'s next turn scans only what is new, with the same findings at the parts\' new places', () => {
    const counter = countingDetector();
    const detectors = [...BUILT_IN_DETECTORS, counter];
    const options = { indicatorWords: [], patterns: [], detectors };
    const first = classifyRequest(conversation([{ role: 'user', content: [{ type: 'text', text: LONG_TURN }] }]), options);
    expect(first.level).toBe('confidential');
    expect(counter.calls).toEqual([LONG_SYSTEM, LONG_TURN]);

    const second = classifyRequest(
      conversation([
        { role: 'user', content: [{ type: 'text', text: LONG_TURN }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Looking at handler now.' }] },
        { role: 'user', content: [{ type: 'text', text: LONG_TURN.replace('Here is', 'And here is') }] },
      ]),
      options,
    );
    expect(counter.calls.slice(2)).toEqual(['Looking at handler now.', LONG_TURN.replace('Here is', 'And here is')]);
    const emails = second.findings.filter((finding) => finding.detector === 'pii.email');
    expect(emails.map((finding) => finding.location)).toEqual(['messages[0].content[0]', 'messages[2].content[0]']);
    const uncached = classifyText(LONG_TURN, { indicatorWords: [], patterns: [] }).findings[0];
    expect(emails[0]).toEqual({ ...uncached, location: 'messages[0].content[0]' });
    expect(second.level).toBe('confidential');
  });

  it('remembers what only the Unicode-folded scan found, at the same place', () => {
    const counter = countingDetector();
    const patterns = [{ name: 'client', level: 'restricted' as const, keywords: ['Müller GmbH'] }];
    const options = { indicatorWords: [], patterns, detectors: [...BUILT_IN_DETECTORS, counter] };
    const decomposed = `${LONG_TURN} Invoice for Mu\u0308ller GmbH attached.`;
    const request = conversation([{ role: 'user', content: [{ type: 'text', text: decomposed }] }]);
    const first = classifyRequest(request, options);
    expect(first.level).toBe('restricted');
    expect(counter.calls.filter((text) => text !== LONG_SYSTEM)).toEqual([decomposed, decomposed.normalize('NFKD').replace('\u0308', '')]);
    const second = classifyRequest(request, options);
    expect(counter.calls).toHaveLength(3);
    expect(second.findings).toEqual(first.findings);
    const client = second.findings.find((finding) => finding.detector === 'operator.pattern');
    expect(client === undefined ? '' : decomposed.slice(client.span.start, client.span.end)).toBe('Mu\u0308ller GmbH');
  });

  it('short parts are scanned every time', () => {
    const counter = countingDetector();
    const options = { indicatorWords: [], patterns: [], detectors: [counter] };
    const request: CanonicalRequest = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a falcon' }] }], stream: false };
    expect(classifyRequest(request, options).level).toBe('confidential');
    expect(classifyRequest(request, options).level).toBe('confidential');
    expect(counter.calls).toHaveLength(2);
    expect('a falcon'.length).toBeLessThan(MIN_CACHED_PART_LENGTH);
  });

  it('a new policy (other indicator words or patterns) scans again and decides by its own rules', () => {
    const text = `Status report for the quarter. ${'Everything shipped on time and the on-call rota is unchanged. '.repeat(8)}The codename is bluebird.`;
    const request: CanonicalRequest = { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text }] }], stream: false };
    expect(classifyRequest(request, { indicatorWords: ['unrelated'], patterns: [] }).level).toBe('public');
    expect(classifyRequest(request, { indicatorWords: ['bluebird'], patterns: [] }).level).toBe('confidential');
    const patterns = [{ name: 'codename', level: 'restricted' as const, keywords: ['bluebird'] }];
    expect(classifyRequest(request, { indicatorWords: [], patterns }).level).toBe('restricted');
  });

  it('a scan cut short by a failing detector is not remembered', () => {
    let calls = 0;
    const flaky: Detector = {
      id: 'test.flaky',
      scan(text: string): DetectorMatch[] {
        calls += 1;
        if (calls === 1) throw new Error('transient');
        return [{ detector: 'test.flaky', level: 'internal', reason: 'seen', start: 0, end: 1, excerpt: text.slice(0, 1) }];
      },
    };
    const options = { indicatorWords: [], patterns: [], detectors: [flaky] };
    const request = conversation([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    const first = classifyRequest(request, options);
    expect(first.failedClosed).toBe(true);
    const second = classifyRequest(request, options);
    expect(calls).toBe(4); // both parts again: the failed scan of the system prompt was not kept
    expect(second.failedClosed).toBe(false);
    expect(second.findings.map((finding) => finding.location)).toEqual(['system', 'messages[0].content[0]']);
  });

  it('a scan that overran the time budget is not remembered', () => {
    let slow = true;
    const counter = countingDetector();
    const sometimesSlow: Detector = {
      id: 'test.slow',
      scan(): DetectorMatch[] {
        const until = performance.now() + (slow ? 20 : 0);
        while (performance.now() < until) {
          // busy, as a runaway regular expression would be
        }
        return [];
      },
    };
    const options = { indicatorWords: [], patterns: [], detectors: [sometimesSlow, counter], timeoutMs: 5 };
    const request = conversation([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    const systemScans = (): number => counter.calls.filter((text) => text === LONG_SYSTEM).length;
    expect(classifyRequest(request, options).failedClosed).toBe(true);
    expect(systemScans()).toBe(0); // the budget ran out before the counting detector's turn
    slow = false;
    expect(classifyRequest(request, { ...options, timeoutMs: 1000 }).failedClosed).toBe(false);
    expect(systemScans()).toBe(1);
    expect(classifyRequest(request, { ...options, timeoutMs: 1000 }).failedClosed).toBe(false);
    expect(systemScans()).toBe(1); // this complete scan was kept
  });
});

describe('PartScanCache', () => {
  const detectors: Detector[] = [];
  const context = { indicatorWords: [], patterns: [] };
  const text = (n: number): string => `${n}`.padEnd(MIN_CACHED_PART_LENGTH, '.');

  it('forgets the least recently used scan first', () => {
    const cache = new PartScanCache(2);
    const [a, b, c] = [1, 2, 3].map((n) => cache.keyOf(text(n), detectors, context) as string);
    cache.set(a as string, []);
    cache.set(b as string, []);
    expect(cache.get(a as string)).toEqual([]);
    cache.set(c as string, []);
    expect(cache.size).toBe(2);
    expect(cache.get(b as string)).toBeUndefined();
    expect(cache.get(a as string)).toEqual([]);
  });

  it('keys by the text and the detector configuration, never by text too short to be worth it', () => {
    const cache = new PartScanCache();
    expect(cache.keyOf('short', detectors, context)).toBeUndefined();
    const key = cache.keyOf(text(1), detectors, context) as string;
    expect(key).not.toContain(text(1).slice(0, 20));
    expect(cache.keyOf(text(1), detectors, context)).toBe(key);
    expect(cache.keyOf(text(2), detectors, context)).not.toBe(key);
    expect(cache.keyOf(text(1), [], context)).not.toBe(key);
    expect(cache.keyOf(text(1), detectors, { ...context, patterns: [] })).not.toBe(key);
  });

  it('never keys a text with a lone surrogate, which UTF-8 hashes as U+FFFD: two different texts would share a scan', () => {
    const cache = new PartScanCache();
    const withSurrogate = `pass\uD800word ${text(1)}`;
    const withReplacement = `pass\uFFFDword ${text(1)}`;
    expect(cache.keyOf(withSurrogate, detectors, context)).toBeUndefined();
    expect(cache.keyOf(withReplacement, detectors, context)).toBeDefined();
    expect(cache.keyOf(`\uD83D\uDE00 ${text(1)}`, detectors, context)).toBeDefined();
  });
});
