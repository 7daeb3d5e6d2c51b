import { InvalidRequestError } from '../../../shared/errors';
import {
  bundleListener,
  currentBundles,
  namesPerBundle,
  planBundles,
  type BundleCertificate,
  type BundlePlan,
} from '../../../shared/plan/bundles';

const ns = (n: number, prefix = 'team'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/**
 * A small world: our bundle certificates, the ALB's listener, and a clock.
 * Requests are PENDING until `issue()`, like ACM; `deploy()` is the load
 * balancer controller reconciling the listener to what the workflow attached.
 */
class World {
  certs: BundleCertificate[] = [];
  onAlb = new Set<string>();
  attached = new Set<string>();
  private clock = 0;
  private seq = 0;

  request(namespaces: readonly string[]): string {
    const arn = `arn:aws:acm:us-west-2:123456789012:certificate/c-${++this.seq}`;
    this.certs.push({
      arn,
      namespaces: [...namespaces],
      status: 'PENDING_VALIDATION',
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, ++this.clock)).toISOString(),
    });
    return arn;
  }

  apply(plan: BundlePlan): void {
    for (const b of plan.bundles) if (b.action === 'request') this.request(b.namespaces);
  }

  issue(): void {
    this.certs = this.certs.map((c) => (c.status === 'PENDING_VALIDATION' ? { ...c, status: 'ISSUED' } : c));
  }

  /** One ConfigureCluster + controller pass: attach what bundleListener says, then the ALB follows. */
  reconcile(want: readonly string[]): ReturnType<typeof bundleListener> {
    const decision = bundleListener({ certificates: this.certs, want, onAlb: this.onAlb });
    this.attached = new Set(decision.attach);
    return decision;
  }

  deploy(): void {
    this.onAlb = new Set(this.attached);
  }

  /** Retirement: certificates off the listener (the ALB no longer holds them) are deleted. */
  retire(decision: ReturnType<typeof bundleListener>): string[] {
    const gone = decision.retire.filter((arn) => !this.onAlb.has(arn));
    this.certs = this.certs.filter((c) => !gone.includes(c.arn));
    return gone;
  }

  /** Namespaces with an Issued certificate on the ALB. */
  covered(): Set<string> {
    return new Set(this.certs.filter((c) => c.status === 'ISSUED' && this.onAlb.has(c.arn)).flatMap((c) => c.namespaces));
  }
}

/** Drives one change through request → (issue) → attach → deploy → retire, checking coverage after every moment. */
function change(world: World, want: string[], plan: BundlePlan, stillServed: readonly string[]): void {
  const check = (moment: string) => {
    const covered = world.covered();
    const missing = stillServed.filter((n) => !covered.has(n));
    if (missing.length > 0) throw new Error(`${moment}: ${missing.join(', ')} without an Issued certificate on the ALB`);
  };
  world.apply(plan);
  check('requested');
  let d = world.reconcile(want);
  check('reconciled while pending');
  world.deploy();
  check('deployed while pending');
  world.retire(d);
  check('retire while pending');
  world.issue();
  check('issued');
  d = world.reconcile(want);
  world.retire(d);
  check('retire before the ALB holds the new one');
  world.deploy();
  check('deployed with both');
  d = world.reconcile(want);
  check('old one taken off the Ingress');
  world.deploy();
  check('ALB without the old one');
  world.retire(d);
  check('old one deleted');
}

describe('currentBundles', () => {
  it('gives each namespace to the newest usable certificate naming it; the older one is superseded', () => {
    const certs: BundleCertificate[] = [
      { arn: 'old', namespaces: ['a', 'b'], status: 'ISSUED', createdAt: '2026-01-01T00:00:00Z' },
      { arn: 'new', namespaces: ['a', 'b', 'c'], status: 'PENDING_VALIDATION', createdAt: '2026-01-02T00:00:00Z' },
      { arn: 'failed', namespaces: ['a', 'b', 'c', 'd'], status: 'FAILED', createdAt: '2026-01-03T00:00:00Z' },
    ];
    expect(currentBundles(certs)).toEqual({
      bundles: [{ arn: 'new', namespaces: ['a', 'b', 'c'], status: 'PENDING_VALIDATION' }],
      superseded: ['old'],
    });
  });
});

describe('planBundles', () => {
  it('packs new namespaces into bundles of namesPerCertificate', () => {
    const plan = planBundles({ certificates: [], add: ns(23), namesPerCertificate: 10 });
    expect(plan.bundles.map((b) => b.namespaces.length)).toEqual([10, 10, 3]);
    expect(plan.bundles.every((b) => b.action === 'request' && b.replaces === undefined)).toBe(true);
  });

  it('fill: a new namespace goes into the bundle with room, as a new certificate replacing it (one swap)', () => {
    const certs: BundleCertificate[] = [
      { arn: 'full', namespaces: ns(10, 'a'), status: 'ISSUED', createdAt: '1' },
      { arn: 'room', namespaces: ns(4, 'b'), status: 'ISSUED', createdAt: '1' },
    ];
    const plan = planBundles({ certificates: certs, add: ['new-one'], namesPerCertificate: 10 });
    expect(plan.bundles).toEqual([
      { action: 'keep', arn: 'full', namespaces: ns(10, 'a') },
      { action: 'request', namespaces: [...ns(4, 'b'), 'new-one'].sort(), replaces: 'room', added: ['new-one'], removed: [] },
    ]);
  });

  it('new: a new namespace opens a new bundle and swaps nothing', () => {
    const certs: BundleCertificate[] = [{ arn: 'room', namespaces: ns(4, 'b'), status: 'ISSUED', createdAt: '1' }];
    const plan = planBundles({ certificates: certs, add: ['new-one'], namesPerCertificate: 10, growth: 'new' });
    expect(plan.bundles).toEqual([
      { action: 'keep', arn: 'room', namespaces: ns(4, 'b') },
      { action: 'request', namespaces: ['new-one'], added: ['new-one'], removed: [] },
    ]);
  });

  it('removing a namespace re-requests its bundle without it; the last one drops the bundle', () => {
    const certs: BundleCertificate[] = [
      { arn: 'x', namespaces: ['a', 'b'], status: 'ISSUED', createdAt: '1' },
      { arn: 'y', namespaces: ['c'], status: 'ISSUED', createdAt: '1' },
    ];
    expect(planBundles({ certificates: certs, add: [], remove: ['b', 'c'], namesPerCertificate: 10 })).toEqual({
      bundles: [{ action: 'request', namespaces: ['a'], replaces: 'x', added: [], removed: ['b'] }],
      dropped: ['y'],
    });
  });

  it("release in a run naming a subset: the other bundle loses the released name, this run's bundles are kept", () => {
    const certs: BundleCertificate[] = [
      { arn: 'x', namespaces: ['a', 'b', 'c'], status: 'ISSUED', createdAt: '1' },
      { arn: 'y', namespaces: ['d'], status: 'ISSUED', createdAt: '1' },
    ];
    expect(planBundles({ certificates: certs, add: ['d'], remove: ['c'], namesPerCertificate: 3 })).toEqual({
      bundles: [
        { action: 'request', namespaces: ['a', 'b'], replaces: 'x', added: [], removed: ['c'] },
        { action: 'keep', arn: 'y', namespaces: ['d'] },
      ],
      dropped: [],
    });
    // A released name that no bundle names changes nothing.
    expect(planBundles({ certificates: certs, add: ['d'], remove: ['zz'], namesPerCertificate: 3 }).bundles.map((b) => b.action)).toEqual([
      'keep',
      'keep',
    ]);
  });

  it('refuses, naming the quotas, bundles that do not fit the listener', () => {
    expect(() => planBundles({ certificates: [], add: ns(251), namesPerCertificate: 10, maxBundles: 25 })).toThrow(InvalidRequestError);
    expect(() => planBundles({ certificates: [], add: ns(251), namesPerCertificate: 10, maxBundles: 25 })).toThrow(
      /26 bundle certificates.*Domain names per ACM certificate.*certificates-per-application-load-balancer/,
    );
    expect(planBundles({ certificates: [], add: ns(250), namesPerCertificate: 10, maxBundles: 25 }).bundles).toHaveLength(25);
  });

  it('is stable: adding or removing one namespace touches at most one bundle, and no namespace changes bundle otherwise', () => {
    // A deterministic pseudo-random walk of single adds and removes, applied to a world that issues everything.
    let seed = 7;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (const growth of ['fill', 'new'] as const) {
      const world = new World();
      const live = new Set<string>();
      let next = 0;
      for (let step = 0; step < 150; step++) {
        const removing = live.size > 0 && rand(3) === 0;
        const name = removing ? [...live].sort()[rand(live.size)]! : `ns-${next++}`;
        const before = currentBundles(world.certs).bundles;
        const plan = planBundles({
          certificates: world.certs,
          add: removing ? [] : [name],
          remove: removing ? [name] : [],
          namesPerCertificate: 3,
          growth,
        });
        const touched = plan.bundles.filter((b) => b.action === 'request' && b.replaces !== undefined).length + plan.dropped.length;
        const opened = plan.bundles.filter((b) => b.action === 'request' && b.replaces === undefined).length;
        expect(touched + opened).toBeLessThanOrEqual(1);
        if (growth === 'new' && !removing) expect(touched).toBe(0);
        // Every bundle within the size; every other namespace keeps its bundle-mates.
        for (const b of plan.bundles) expect(b.namespaces.length).toBeLessThanOrEqual(3);
        for (const b of before) {
          const mates = b.namespaces.filter((x) => x !== name);
          if (mates.length === 0) continue;
          const after = plan.bundles.find((p) => p.namespaces.includes(mates[0]!))!;
          for (const m of mates) expect(after.namespaces).toContain(m);
        }
        if (removing) live.delete(name);
        else live.add(name);
        change(
          world,
          [...live],
          plan,
          [...live].filter((x) => removing || x !== name),
        );
        // Afterwards: exactly the live namespaces are bundled, no certificate is left over.
        const after = currentBundles(world.certs);
        expect(after.bundles.flatMap((b) => b.namespaces).sort()).toEqual([...live].sort());
        expect(after.superseded).toEqual([]);
      }
    }
  });
});

describe('bundleListener (make-before-break)', () => {
  const old: BundleCertificate = { arn: 'old', namespaces: ['a', 'b'], status: 'ISSUED', createdAt: '1' };
  const swap: BundleCertificate = { arn: 'new', namespaces: ['a', 'b', 'c'], status: 'PENDING_VALIDATION', createdAt: '2' };

  it('keeps the old bundle while the new one is pending', () => {
    expect(bundleListener({ certificates: [old, swap], want: ['a', 'b', 'c'], onAlb: new Set(['old']) })).toEqual({
      attach: ['old'],
      holding: [{ arn: 'old', waitingFor: ['a', 'b'] }],
      retire: [],
    });
  });

  it('attaches the issued new bundle beside the old one until the ALB holds it', () => {
    const issued = { ...swap, status: 'ISSUED' as const };
    expect(bundleListener({ certificates: [old, issued], want: ['a', 'b', 'c'], onAlb: new Set(['old']) })).toEqual({
      attach: ['new', 'old'],
      holding: [{ arn: 'old', waitingFor: ['a', 'b'] }],
      retire: [],
    });
  });

  it('retires the old bundle once the ALB holds the new one', () => {
    const issued = { ...swap, status: 'ISSUED' as const };
    expect(bundleListener({ certificates: [old, issued], want: ['a', 'b', 'c'], onAlb: new Set(['old', 'new']) })).toEqual({
      attach: ['new'],
      holding: [],
      retire: ['old'],
    });
  });

  it('a removal keeps the old bundle for the remaining namespaces until their new one is on the ALB', () => {
    const smaller: BundleCertificate = { arn: 'smaller', namespaces: ['a'], status: 'PENDING_VALIDATION', createdAt: '2' };
    expect(bundleListener({ certificates: [old, smaller], want: ['a'], onAlb: new Set(['old']) }).attach).toEqual(['old']);
    const issued = { ...smaller, status: 'ISSUED' as const };
    expect(bundleListener({ certificates: [old, issued], want: ['a'], onAlb: new Set(['old', 'smaller']) })).toEqual({
      attach: ['smaller'],
      holding: [],
      retire: ['old'],
    });
  });
});

describe('namesPerBundle', () => {
  it('defaults to the quota and refuses more than it, naming the quota', () => {
    expect(namesPerBundle(undefined, 10)).toBe(10);
    expect(namesPerBundle(4, 10)).toBe(4);
    expect(() => namesPerBundle(20, 10)).toThrow(/L-FB94F0B0.*is 10/);
  });
});
