import { describe, expect, it } from 'vitest';
import { EngineBusyError, SlotQueue } from '../../../src/engines/server/queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('SlotQueue', () => {
  it('runs one task per slot and the rest in arrival order', async () => {
    const queue = new SlotQueue(1, 10);
    const order: string[] = [];
    const gate = deferred();
    const first = queue.run(async (slot) => {
      order.push(`first@${slot}`);
      await gate.promise;
    });
    const second = queue.run(async (slot) => void order.push(`second@${slot}`));
    const third = queue.run(async (slot) => void order.push(`third@${slot}`));
    await Promise.resolve();
    expect([queue.active, queue.queued]).toEqual([1, 2]);
    gate.resolve();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first@0', 'second@0', 'third@0']);
  });

  it('uses every slot at once', async () => {
    const queue = new SlotQueue(2, 0);
    const gate = deferred();
    const slots: number[] = [];
    const runs = [queue.run(async (slot) => { slots.push(slot); await gate.promise; }), queue.run(async (slot) => { slots.push(slot); await gate.promise; })];
    await Promise.resolve();
    expect(slots.sort()).toEqual([0, 1]);
    gate.resolve();
    await Promise.all(runs);
  });

  it('refuses a request beyond the waiting bound with EngineBusyError', async () => {
    const queue = new SlotQueue(1, 1);
    const gate = deferred();
    const running = queue.run(() => gate.promise);
    const waiting = queue.run(async () => 'ran');
    const refused = queue.run(async () => 'never');
    await expect(refused).rejects.toBeInstanceOf(EngineBusyError);
    // One waiting request reads as one.
    await expect(refused).rejects.toThrow('the engine is busy: 1 request is already waiting');
    gate.resolve();
    await running;
    await expect(waiting).resolves.toBe('ran');
  });

  it('drops a waiting request whose client went away, and frees the slot after a failure', async () => {
    const queue = new SlotQueue(1, 5);
    const gate = deferred();
    const running = queue.run(async () => {
      await gate.promise;
      throw new Error('boom');
    });
    const abort = new AbortController();
    const leaving = queue.run(async () => 'never', abort.signal);
    abort.abort();
    await expect(leaving).rejects.toThrow('went away');
    gate.resolve();
    await expect(running).rejects.toThrow('boom');
    await expect(queue.run(async (slot) => slot)).resolves.toBe(0);
  });

  it('refuses waiting and new requests once closed, letting the running one finish', async () => {
    const queue = new SlotQueue(1, 5);
    const gate = deferred();
    const running = queue.run(async () => {
      await gate.promise;
      return 'done';
    });
    const waiting = queue.run(async () => 'never');
    queue.close();
    await expect(waiting).rejects.toThrow('shutting down');
    await expect(queue.run(async () => 'never')).rejects.toThrow('shutting down');
    gate.resolve();
    await expect(running).resolves.toBe('done');
  });
});
