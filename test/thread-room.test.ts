/**
 * The address-space check made before each thread of ours (src/actors/thread-room.ts), over
 * given figures: a thread that does not fit is no error but the end of the process, and a
 * check that admitted threads to the last byte, or that did not count the threads made a
 * moment ago (their space not yet in VmSize), let the host be ended within a second of start()
 * under `ulimit -v 3000000` (test/host-safety.test.ts runs such a host).
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HEADROOM, THREAD_ADDRESS_SPACE, holdUntilOnline, isNoRoom, noRoomFor, threadsThatFit } from '../dist/src/actors/thread-room.js';

const MiB = 1024 * 1024;

describe('thread room', () => {
  it('leaves room for the heaps after the last thread it admits, and none at all when the limit is unknown', () => {
    // Room for exactly two threads, but not for two and the headroom.
    const space = { limit: 1000 * MiB + 2 * THREAD_ADDRESS_SPACE, used: 1000 * MiB };
    expect(threadsThatFit(space, 0)).toBe(1);
    expect(threadsThatFit({ ...space, limit: space.limit + HEADROOM }, 0)).toBe(2);
    expect(threadsThatFit({ limit: null, used: 1000 * MiB }, 0)).toBe(Infinity);
    expect(threadsThatFit({ limit: 4000 * MiB, used: null }, 0)).toBe(Infinity);
  });

  it('refuses a set of threads that does not fit whole, naming the limit, the use, the need and the ways out', () => {
    const space = { limit: 3_000_000 * 1024, used: 1700 * MiB };
    const names = ['watchdog', 'storage', 'collector', 'alerts'];
    const reason = noRoomFor(names, space, "storage: 'memory'", 0);
    expect(reason).toBe(
      "no room for 4 more threads (watchdog, storage, collector, alerts) in the process's address space: its limit (ulimit -v, RLIMIT_AS) is 2.86 GiB, 1.66 GiB is in use, and they need about 3.00 GiB: 640 MiB a thread, which V8 cannot reserve without ending the process, and 512 MiB left over for the heaps to grow in; raise the limit to at least 4886528 (ulimit -v takes KiB), or storage: 'memory'",
    );
    expect(isNoRoom(new Error(`storage: ${reason}`))).toBe(true);
    expect(noRoomFor(names, { ...space, limit: 4_886_528 * 1024 }, undefined, 0)).toBeUndefined();
    expect(noRoomFor(['exposition'], { limit: 2000 * MiB, used: 1700 * MiB }, undefined, 0)).toMatch(/^no room for another thread \(exposition\) in the process's address space/);
  });

  it('counts a thread made and not yet online as holding its space, until it is online or ended', () => {
    const space = { limit: 1000 * MiB + 3 * THREAD_ADDRESS_SPACE + HEADROOM, used: 1000 * MiB };
    expect(threadsThatFit(space)).toBe(3);
    const first = new EventEmitter();
    const second = new EventEmitter();
    holdUntilOnline(first as unknown as Worker);
    holdUntilOnline(second as unknown as Worker);
    expect(threadsThatFit(space)).toBe(1);
    expect(noRoomFor(['a', 'b'], space)).toMatch(/\(and 2 made a moment ago, not yet online\)/);
    first.emit('online');
    first.emit('exit', 0);
    expect(threadsThatFit(space)).toBe(2);
    second.emit('exit', 1);
    expect(threadsThatFit(space)).toBe(3);
  });
});
