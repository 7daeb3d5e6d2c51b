/**
 * ELBv2 reader: what GetLoadBalancerAddress needs to tell whether the ALB
 * named in an Ingress's status serves the run's certificates and scheme.
 *
 * Only Describe calls; they have no resource-level permissions in IAM, so the
 * role allows them on `*` (docs/security.md).
 */
import {
  type ElasticLoadBalancingV2Client,
  DescribeAccountLimitsCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ListenerSummary, LoadBalancerSummary, LoadBalancersPort } from '../ports';
import { withAws } from './errors';

/** DescribeLoadBalancers' largest page (ELBv2 allows at most 400). */
const PAGE_SIZE = 400;
/** Pages read before giving up on a Marker that never ends (a broken endpoint, not ELBv2). */
const MAX_PAGES = 1000;

/**
 * {@link LoadBalancersPort} over the SDK client.
 *
 * @example
 *   const lbs = new Elbv2Adapter(elbv2Client(config, 'us-west-2'));
 *   const lb = await lbs.findByDnsName('k8s-istiosys-istioing-0123456789-1.us-west-2.elb.amazonaws.com');
 */
export class Elbv2Adapter implements LoadBalancersPort {
  constructor(private readonly client: ElasticLoadBalancingV2Client) {}

  async findByDnsName(dnsName: string): Promise<LoadBalancerSummary | undefined> {
    const wanted = dnsName.replace(/\.$/, '').toLowerCase();
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await withAws('elasticloadbalancing:DescribeLoadBalancers', () =>
        this.client.send(new DescribeLoadBalancersCommand({ Marker: marker, PageSize: PAGE_SIZE })),
      );
      for (const lb of out.LoadBalancers ?? []) {
        if (lb.DNSName?.replace(/\.$/, '').toLowerCase() === wanted && lb.LoadBalancerArn) {
          return {
            arn: lb.LoadBalancerArn,
            dnsName: lb.DNSName,
            scheme: lb.Scheme ?? '',
            ...(lb.State?.Code ? { state: lb.State.Code } : {}),
          };
        }
      }
      marker = out.NextMarker;
      if (!marker) return undefined;
    }
    return undefined;
  }

  async listListeners(loadBalancerArn: string): Promise<ListenerSummary[]> {
    const listeners: ListenerSummary[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await withAws('elasticloadbalancing:DescribeListeners', () =>
        this.client.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn, Marker: marker })),
      );
      for (const l of out.Listeners ?? []) {
        if (l.ListenerArn) listeners.push({ arn: l.ListenerArn, port: l.Port ?? 0, protocol: l.Protocol ?? '' });
      }
      marker = out.NextMarker;
      if (!marker) break;
    }
    return listeners;
  }

  async accountLimits(): Promise<Record<string, number>> {
    const limits: Record<string, number> = {};
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await withAws('elasticloadbalancing:DescribeAccountLimits', () =>
        this.client.send(new DescribeAccountLimitsCommand({ Marker: marker })),
      );
      for (const l of out.Limits ?? []) {
        const max = Number(l.Max);
        if (l.Name && Number.isFinite(max)) limits[l.Name] = max;
      }
      marker = out.NextMarker;
      if (!marker) break;
    }
    return limits;
  }

  async listListenerCertificates(listenerArn: string): Promise<string[]> {
    const arns: string[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const out = await withAws('elasticloadbalancing:DescribeListenerCertificates', () =>
        this.client.send(new DescribeListenerCertificatesCommand({ ListenerArn: listenerArn, Marker: marker })),
      );
      for (const c of out.Certificates ?? []) if (c.CertificateArn) arns.push(c.CertificateArn);
      marker = out.NextMarker;
      if (!marker) break;
    }
    return arns;
  }
}
