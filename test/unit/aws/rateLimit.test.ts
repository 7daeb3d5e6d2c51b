import { RateLimiter } from '../../../shared/aws/rateLimit';

describe('RateLimiter', () => {
  it('lets n calls per second through and delays the next until the window moves', async () => {
    let now = 0;
    const sleeps: number[] = [];
    const limiter = new RateLimiter({
      perSecond: { DescribeCertificateCommand: 3 },
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      await limiter.take('DescribeCertificateCommand');
      times.push(now);
      now += 10;
    }
    expect(times).toEqual([0, 10, 20, 1000, 1010, 1020, 2000]);
    // Operations without a quota are never delayed.
    await limiter.take('Other');
    expect(sleeps).toHaveLength(2);
  });
});
