import { describe, expect, it } from 'vitest';
import { ClassifierThread, classifiedOffThread, classifyLargeOffThread, OFF_THREAD_CHARACTERS, OFF_THREAD_MESSAGES } from '../../../src/classify/off-thread.js';
import type { CanonicalRequest } from '../../../src/wire/canonical.js';

/** A user message of one text part. */
const user = (text: string): CanonicalRequest['messages'][number] => ({ role: 'user', content: [{ type: 'text', text }] });
const request = (messages: CanonicalRequest['messages'], system?: string): CanonicalRequest => ({ model: 'auto', messages, stream: false, ...(system === undefined ? {} : { system }) });
const OPTIONS = { indicatorWords: [], patterns: [] };
/** A worker thread's script as a data: URL (an ES module). */
const script = (source: string): URL => new URL(`data:text/javascript,${encodeURIComponent(source)}`);
const ANSWERS = script(`import { parentPort } from 'node:worker_threads';
parentPort.on('message', (bytes) => parentPort.postMessage({ id: JSON.parse(new TextDecoder().decode(bytes)).id, classification: { level: 'internal', findings: [], failedClosed: false } }));`);

describe('classifiedOffThread', () => {
  it('takes requests from OFF_THREAD_CHARACTERS of content or OFF_THREAD_MESSAGES messages, wherever the characters are', () => {
    const text = 'a'.repeat(OFF_THREAD_CHARACTERS);
    expect(classifiedOffThread(request([user('hello')]))).toBe(false);
    expect(classifiedOffThread(request([user(text.slice(1))]))).toBe(false);
    expect(classifiedOffThread(request([user(text)]))).toBe(true);
    expect(classifiedOffThread(request([user('x')], text))).toBe(true);
    expect(classifiedOffThread(request([{ role: 'user', content: [{ type: 'text', text: text.slice(2) }, { type: 'text', text: 'xy' }] }]))).toBe(true);
    expect(classifiedOffThread(request([{ role: 'assistant', content: [], toolCalls: [{ id: 'c', name: 'f', arguments: text }] }]))).toBe(true);
    const many = Array.from({ length: OFF_THREAD_MESSAGES }, () => (user('m')));
    expect(classifiedOffThread(request(many.slice(1)))).toBe(false);
    expect(classifiedOffThread(request(many))).toBe(true);
  });
});

describe('ClassifierThread', () => {
  it('answers with what its worker posts back', async () => {
    const thread = new ClassifierThread(ANSWERS);
    try {
      await expect(thread.classify(request([user('x')]), OPTIONS)).resolves.toEqual({ level: 'internal', findings: [], failedClosed: false });
    } finally {
      await thread.close();
    }
  });

  it.each([
    ['exits with the job in hand', `import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => process.exit(70));`, 'the classifier thread exited (code 70)'],
    ['throws with the job in hand', `import { parentPort } from 'node:worker_threads'; parentPort.on('message', () => { throw new Error('boom'); });`, 'the classifier thread failed: boom'],
    ['cannot load', `throw new Error('no module');`, 'the classifier thread failed: no module'],
  ])('rejects the job when its worker %s (the router then fails closed)', async (_case, source, message) => {
    const thread = new ClassifierThread(script(source));
    try {
      await expect(thread.classify(request([user('x')]), OPTIONS)).rejects.toThrow(message);
    } finally {
      await thread.close();
    }
  });

  it('classifies small requests in place and large ones by the thread', async () => {
    const thread = new ClassifierThread(ANSWERS);
    const inPlace = { level: 'public' as const, findings: [], failedClosed: false };
    const classify = classifyLargeOffThread(async () => () => inPlace, thread);
    try {
      await expect(classify(request([user('x')]), OPTIONS)).resolves.toBe(inPlace);
      await expect(classify(request([user('a'.repeat(OFF_THREAD_CHARACTERS))]), OPTIONS)).resolves.toMatchObject({ level: 'internal' });
    } finally {
      await thread.close();
    }
  });
});
