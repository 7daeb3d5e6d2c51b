/**
 * The pure readiness decision of GetLoadBalancerAddress (#10 §4.3): a
 * hostname is not a deployment.
 */
import type { KubeObject } from '../../../shared/ports';
import {
  REFUSAL_SETTLE_SECONDS,
  expectedLoadBalancer,
  loadBalancerReadiness,
  type ExpectedLoadBalancer,
  type ObservedLoadBalancer,
} from '../../../shared/plan/loadBalancer';

const ING = { namespace: 'istio-system', name: 'istio-ingress-api' };
const WRITTEN = '2026-12-02T06:00:00.400Z';
const HOST = 'k8s-istiosys-istioing-abc-123.us-west-2.elb.amazonaws.com';
const A = 'arn:aws:acm:us-west-2:111122223333:certificate/a';
const B = 'arn:aws:acm:us-west-2:111122223333:certificate/b';
const at = (seconds: number) => new Date(Date.parse('2026-12-02T06:00:00Z') + seconds * 1000);

const expected: ExpectedLoadBalancer = {
  certificateArns: [A, B],
  scheme: 'internet-facing',
  resourceVersion: '42',
  uid: 'u1',
  writtenAt: WRITTEN,
};
const serving: ObservedLoadBalancer = {
  hostname: HOST,
  loadBalancer: { scheme: 'internet-facing' },
  listenerCertificates: [B, A, 'arn:foreign'],
  events: [],
};

function event(
  reason: string,
  seconds: number,
  extra: { uid?: string; name?: string; resourceVersion?: string; field?: string } = {},
): KubeObject {
  const time = at(seconds)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `e-${reason}-${seconds}`, namespace: 'istio-system' },
    involvedObject: {
      kind: 'Ingress',
      namespace: 'istio-system',
      name: extra.name ?? ING.name,
      uid: extra.uid ?? 'u1',
      resourceVersion: extra.resourceVersion,
    },
    reason,
    message: `${reason} at ${seconds}`,
    [extra.field ?? 'lastTimestamp']: time,
  };
}

describe('expectedLoadBalancer', () => {
  it('reads the certificates and scheme the Ingress holds; the controller defaults to internal', () => {
    const ingress: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: {
        name: 'istio-ingress',
        namespace: 'istio-system',
        resourceVersion: '7',
        uid: 'u9',
        annotations: { 'alb.ingress.kubernetes.io/certificate-arn': ` ${A}, ${B} ,` },
      },
    };
    expect(expectedLoadBalancer(ingress, WRITTEN)).toEqual({
      certificateArns: [A, B],
      scheme: 'internal',
      resourceVersion: '7',
      uid: 'u9',
      writtenAt: WRITTEN,
    });
  });
});

describe('loadBalancerReadiness', () => {
  it('ready when the named ALB has the scheme and every certificate (in any order, others beside)', () => {
    expect(loadBalancerReadiness(ING, expected, serving, at(1))).toEqual({ state: 'ready', hostname: HOST });
    for (const state of ['active', 'active_impaired']) {
      const active = { ...serving, loadBalancer: { scheme: 'internet-facing', state } };
      expect(loadBalancerReadiness(ING, expected, active, at(1))).toEqual({ state: 'ready', hostname: HOST });
    }
  });

  it.each<[string, ObservedLoadBalancer, RegExp]>([
    ['no hostname', { events: [] }, /no load balancer address/],
    ['no ALB of that name', { hostname: HOST, events: [] }, /ELBv2 has no load balancer named/],
    ['another scheme', { ...serving, loadBalancer: { scheme: 'internal' } }, /is internal, the Ingress asks for internet-facing/],
    ['no HTTPS:443 listener', { hostname: HOST, loadBalancer: { scheme: 'internet-facing' }, events: [] }, /no HTTPS:443 listener/],
    ['a certificate missing', { ...serving, listenerCertificates: [A] }, /lacks 1 certificate\(s\) of the Ingress: .*certificate\/b/],
    [
      'a new ALB still provisioning',
      { ...serving, loadBalancer: { scheme: 'internet-facing', state: 'provisioning' } },
      /is provisioning, not active yet/,
    ],
    ['a failed ALB', { ...serving, loadBalancer: { scheme: 'internet-facing', state: 'failed' } }, /is failed, not active yet/],
  ])('waiting: %s', (_what, observed, reason) => {
    const out = loadBalancerReadiness(ING, expected, observed, at(100));
    expect(out).toEqual({ state: 'waiting', reason: expect.stringMatching(reason) });
  });

  const notServing: ObservedLoadBalancer = { ...serving, listenerCertificates: [A] };

  it.each(['FailedDeployModel', 'FailedBuildModel'])('rejected: a %s after the write, once settled', (reason) => {
    const observed = { ...notServing, events: [event(reason, 1)] };
    expect(loadBalancerReadiness(ING, expected, observed, at(1 + REFUSAL_SETTLE_SECONDS - 1)).state).toBe('waiting');
    expect(loadBalancerReadiness(ING, expected, observed, at(1 + REFUSAL_SETTLE_SECONDS))).toEqual({
      state: 'rejected',
      reason,
      message: `${reason} at 1`,
    });
  });

  it("an event of the write's own second counts (event times have whole seconds), one of the second before does not", () => {
    expect(loadBalancerReadiness(ING, expected, { ...notServing, events: [event('FailedDeployModel', 0)] }, at(60)).state).toBe('rejected');
    expect(loadBalancerReadiness(ING, expected, { ...notServing, events: [event('FailedDeployModel', -1)] }, at(60)).state).toBe('waiting');
  });

  it('an event about the written resourceVersion counts whatever its time', () => {
    const observed = { ...notServing, events: [event('FailedBuildModel', -5, { resourceVersion: '42' })] };
    expect(loadBalancerReadiness(ING, expected, observed, at(60)).state).toBe('rejected');
  });

  it('reads eventTime and series when lastTimestamp is absent', () => {
    expect(
      loadBalancerReadiness(ING, expected, { ...notServing, events: [event('FailedDeployModel', 2, { field: 'eventTime' })] }, at(60))
        .state,
    ).toBe('rejected');
  });

  it('a success at or after the refusal supersedes it', () => {
    const observed = { ...notServing, events: [event('FailedDeployModel', 2), event('SuccessfullyReconciled', 2)] };
    expect(loadBalancerReadiness(ING, expected, observed, at(60)).state).toBe('waiting');
    const again = { ...notServing, events: [...observed.events, event('FailedDeployModel', 3)] };
    expect(loadBalancerReadiness(ING, expected, again, at(60)).state).toBe('rejected');
  });

  it('ignores events about other objects: another Ingress, another uid of the same name', () => {
    const events = [event('FailedDeployModel', 2, { name: 'other' }), event('FailedDeployModel', 2, { uid: 'u0' })];
    expect(loadBalancerReadiness(ING, expected, { ...notServing, events }, at(60)).state).toBe('waiting');
  });

  it('an ALB that serves the request is ready even beside a refusal (the run asked for nothing it lacks)', () => {
    expect(loadBalancerReadiness(ING, expected, { ...serving, events: [event('FailedBuildModel', 2)] }, at(60)).state).toBe('ready');
  });
});

describe('a superseded bundle the ALB must drop (expected.absent)', () => {
  const OLD = 'arn:aws:acm:us-west-2:111122223333:certificate/old';
  const swapping: ExpectedLoadBalancer = { ...expected, absent: [OLD] };

  it('waits while the listener still holds it', () => {
    expect(loadBalancerReadiness(ING, swapping, { ...serving, listenerCertificates: [A, B, OLD] }, at(1))).toEqual({
      state: 'waiting',
      reason: expect.stringMatching(/still holds 1 superseded certificate\(s\): .*certificate\/old/),
    });
  });

  it('is ready once the listener dropped it', () => {
    expect(loadBalancerReadiness(ING, swapping, serving, at(1))).toEqual({ state: 'ready', hostname: HOST });
  });
});
