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
