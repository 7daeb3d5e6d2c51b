import { MAX_POLL_SECONDS, MIN_POLL_SECONDS, nextPollDelay, secondsSince } from '../../../shared/plan/polling';

describe('nextPollDelay', () => {
  it.each([
    [0, 3600, MIN_POLL_SECONDS],
    [20, 3600, MIN_POLL_SECONDS],
    [60, 3600, 15],
    [300, 3600, 75],
    [1800, 7200, 450],
    [7200, 72 * 3600, MAX_POLL_SECONDS],
  ])('after %ss of %ss waits %ss', (elapsed, deadline, expected) => {
    expect(nextPollDelay(elapsed, deadline)).toBe(expected);
  });

  it('never sleeps past the deadline by more than a second', () => {
    expect(nextPollDelay(1000, 1010)).toBe(11);
    expect(nextPollDelay(1010, 1010)).toBe(1);
    expect(nextPollDelay(5000, 1010)).toBe(1);
  });

  it('keeps a 72 h wait far under the 25,000-event history limit', () => {
    const deadline = 72 * 3600;
    let elapsed = 0;
    let checks = 0;
    while (elapsed <= deadline) {
      elapsed += nextPollDelay(elapsed, deadline);
      checks += 1;
    }
    // Each loop iteration (Task + Choice + Wait) costs about 10 history events.
    expect(checks * 10).toBeLessThan(25_000 / 4);
    expect(checks).toBeGreaterThan(400);
  });
});

describe('secondsSince', () => {
  it('counts whole seconds and is never negative', () => {
    const now = new Date('2026-01-01T00:01:00.900Z');
    expect(secondsSince('2026-01-01T00:00:00Z', now)).toBe(60);
    expect(secondsSince('2026-01-01T00:05:00Z', now)).toBe(0);
    expect(secondsSince('not a date', now)).toBe(0);
  });
});
