import { Readable } from 'node:stream';
import { Route53Client } from '@aws-sdk/client-route-53';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { RateLimiter, ROUTE53_RATES } from '../../../shared/aws/rateLimit';
import { Route53Adapter } from '../../../shared/aws/route53';

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

describe('RateLimiter handover between steps (one process each, one account quota)', () => {
  /** Most calls of the merged timestamps inside any one-second window. */
  const peak = (times: number[]): number => {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0; i < sorted.length; i++) {
      let j = i;
      while (j < sorted.length && sorted[j]! - sorted[i]! < 1000) j++;
      most = Math.max(most, j - i);
    }
    return most;
  };

  /** One step: a process of its own starting at `start`, sending `calls` as fast as its limiter lets it. */
  async function step(start: number, calls: number, handover: boolean): Promise<number[]> {
    let now = start;
    const limiter = new RateLimiter({
      perSecond: { DescribeCertificateCommand: 8 },
      quota: { DescribeCertificateCommand: 10 },
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    if (handover) limiter.handover();
    const sent: number[] = [];
    for (let i = 0; i < calls; i++) {
      await limiter.take('DescribeCertificateCommand');
      sent.push(now);
      now += 5;
    }
    return sent;
  }

  it('without it, two adjacent steps at 8/s each put 16 calls in one second; with it, never more than the quota of 10', async () => {
    // Steps of 48 calls each (six full seconds at 8/s), every next one starting the moment the one before sent its last call (waits at zero).
    const chain = async (handover: boolean) => {
      const all: number[] = [];
      let start = 0;
      for (let s = 0; s < 4; s++) {
        const sent = await step(start, 48, handover);
        all.push(...sent);
        start = sent[sent.length - 1]! + 1;
      }
      return all;
    };
    expect(peak(await chain(false))).toBeGreaterThan(10);
    const paced = await chain(true);
    expect(paced).toHaveLength(192);
    expect(peak(paced)).toBeLessThanOrEqual(10);
  });

  it('lets quota − pace calls through in the first second of an invocation, then the full pace', async () => {
    const sent = await step(0, 12, true);
    expect(sent.filter((t) => t < 1000)).toHaveLength(2);
    expect(sent.filter((t) => t >= 1000 && t < 2000)).toHaveLength(8);
  });
});

describe('Route 53 pacing', () => {
  it('draws every operation from one budget of 4 calls per second (80 % of the API quota of 5)', async () => {
    // Prepare: a real client (its middleware runs) over an HTTP handler that answers locally.
    let now = 0;
    const limiter = new RateLimiter({
      perSecond: ROUTE53_RATES,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const ns = 'xmlns="https://route53.amazonaws.com/doc/2013-04-01/"';
    const sent: Array<{ path: string; at: number }> = [];
    const requestHandler = {
      handle: async (req: HttpRequest) => {
        sent.push({ path: req.path, at: now });
        const xml = req.path.includes('/rrset')
          ? `<ListResourceRecordSetsResponse ${ns}><ResourceRecordSets></ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>300</MaxItems></ListResourceRecordSetsResponse>`
          : `<GetChangeResponse ${ns}><ChangeInfo><Id>/change/C1</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></GetChangeResponse>`;
        return {
          response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(xml)]) }),
        };
      },
    };
    const client = new Route53Client({
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      requestHandler,
      maxAttempts: 1,
    });
    const adapter = new Route53Adapter(client, limiter);

    // Act: two operations, alternating.
    for (let i = 0; i < 6; i++) {
      if (i % 2 === 0) await adapter.getChange('C1');
      else await adapter.listRecordsNamed('Z1', ['*.ns.example.com']);
    }

    // Assess: four in the first second, whatever the operation; then the window moves.
    expect(sent.map((c) => c.at)).toEqual([0, 0, 0, 0, 1000, 1000]);
    expect(sent.filter((c) => c.path.includes('/rrset'))).toHaveLength(3);
  });
});
