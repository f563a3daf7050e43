import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FakeEngineKind } from './index.js';
import { splitSseFrames } from './sse.js';

/** Root of the captured payloads (`test/fixtures/engines/<kind>/`). */
export const FIXTURES_ROOT = resolve(import.meta.dirname, '..', '..', 'fixtures', 'engines');

const cache = new Map<string, string>();

function readFixture(kind: FakeEngineKind, file: string): string {
  const path = resolve(FIXTURES_ROOT, kind, file);
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    cache.set(path, text);
  }
  return text;
}

/** A captured payload as text, for bodies whose exact number formatting a JSON round trip would change. */
export function loadTextTemplate(kind: FakeEngineKind, file: string): string {
  return readFixture(kind, file).replace(/\n$/, '');
}

/** A fresh deep copy of a captured JSON payload (callers mutate it to fill in ids, text, usage). */
export function loadJsonTemplate<T = Record<string, unknown>>(kind: FakeEngineKind, file: string): T {
  return JSON.parse(readFixture(kind, file)) as T;
}

/** The `data:` payloads of a captured `*.chunks.txt` stream (one SSE frame per chunk), parsed when JSON. */
export function loadChunkTemplates(kind: FakeEngineKind, file: string): Array<{ event?: string; data: unknown }> {
  return splitSseFrames(readFixture(kind, file)).map((frame) => {
    let data: unknown = frame.data;
    try {
      data = JSON.parse(frame.data);
    } catch {
      // `[DONE]` and other non-JSON payloads stay text.
    }
    return frame.event === undefined ? { data } : { event: frame.event, data };
  });
}

/** Deep copy through JSON (templates are plain JSON values). */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
