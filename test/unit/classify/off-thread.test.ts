import { describe, expect, it, vi } from 'vitest';
import { ClassifierThread, classifiedOffThread, classifyLargeOffThread, OFF_THREAD_CHARACTERS, OFF_THREAD_MESSAGES, workerScript } from '../../../src/classify/off-thread.js';
import type { Classification } from '../../../src/classify/types.js';
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

describe('workerScript', () => {
  it('is the built worker beside the module, and dist/ when the module runs from source (Node starts no .ts worker)', () => {
    expect(workerScript('file:///app/dist/classify/off-thread.js').href).toBe('file:///app/dist/classify/worker-thread.js');
    expect(workerScript('file:///app/src/classify/off-thread.ts').href).toBe('file:///app/dist/classify/worker-thread.js');
  });

  it('classifies a large request of an in-process gateway (this test runs the module from source) with the real thread', async () => {
    const thread = new ClassifierThread();
    try {
      const request = { messages: [{ role: 'user', content: `my password is hunter2 ${'word '.repeat(OFF_THREAD_CHARACTERS / 5)}` }] } as unknown as CanonicalRequest;
      const classification = await thread.classify(request, { indicatorWords: [], patterns: [] });
      expect(classification.failedClosed).toBe(false);
      expect(classification.level).toBe('restricted');
    } finally {
      await thread.close();
    }
  }, 90_000);
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

  it('times out the job the worker is on (not those queued): terminates the worker, rejects that job and those behind it, and the next job starts a new worker', async () => {
    // A worker that tells the test of each job it takes, answers it (with its thread's id) when told
    // to, and spins without end (as a runaway regex would) on a request that says 'hang'.
    const channel = `classifier-thread-${process.pid}-${Math.random()}`;
    const thread = new ClassifierThread(
      script(`import { parentPort, threadId } from 'node:worker_threads';
const control = new BroadcastChannel(${JSON.stringify(channel)});
const held = new Map();
control.onmessage = ({ data }) => parentPort.postMessage({ id: held.get(data), classification: { level: 'internal', findings: [], failedClosed: false, thread: threadId } });
parentPort.on('message', (bytes) => {
  const job = JSON.parse(new TextDecoder().decode(bytes));
  const text = job.request.messages[0].content[0].text;
  held.set(text, job.id);
  control.postMessage(text);
  if (text === 'hang') for (;;);
});`),
      () => 1000,
    );
    const control = new BroadcastChannel(channel);
    const took = (text: string): Promise<void> =>
      new Promise((resolve) => {
        const listener = (event: Event): void => {
          if ((event as MessageEvent).data !== text) return;
          control.removeEventListener('message', listener);
          resolve();
        };
        control.addEventListener('message', listener);
      });
    const settled = (job: Promise<unknown>): { done: boolean } => {
      const state = { done: false };
      job.then(
        () => (state.done = true),
        () => (state.done = true),
      );
      return state;
    };
    const classify = (text: string): Promise<Classification & { thread?: number }> => thread.classify(request([user(text)]), OPTIONS);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const tookFirst = Promise.all([took('a'), took('b')]);
      const a = classify('a');
      const b = classify('b');
      const [aSettled, bSettled] = [settled(a), settled(b)];
      await tookFirst;
      await vi.advanceTimersByTimeAsync(999);
      expect([aSettled.done, bSettled.done]).toEqual([false, false]);
      control.postMessage('a');
      const first = await a;
      // b has waited 999 ms behind a, and is timed only from now.
      await vi.advanceTimersByTimeAsync(999);
      expect(bSettled.done).toBe(false);
      control.postMessage('b');
      await expect(b).resolves.toMatchObject({ level: 'internal', thread: first.thread });

      const tookHang = took('hang');
      const hung = classify('hang');
      const queued = classify('c');
      const [hungSettled, queuedSettled] = [settled(hung), settled(queued)];
      await tookHang;
      await vi.advanceTimersByTimeAsync(999);
      expect([hungSettled.done, queuedSettled.done]).toEqual([false, false]);
      await vi.advanceTimersByTimeAsync(1);
      await expect(hung).rejects.toThrow('the classifier thread timed out after 1000 ms');
      await expect(queued).rejects.toThrow('the classifier thread timed out after 1000 ms');

      const tookNext = took('d');
      const next = classify('d');
      await tookNext;
      control.postMessage('d');
      const fresh = await next;
      expect(fresh.thread).toBeDefined();
      expect(fresh.thread).not.toBe(first.thread);
    } finally {
      vi.useRealTimers();
      control.close();
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
