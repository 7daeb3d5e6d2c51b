/**
 * Where moto 5.2.5's ELBv2 differs from the real service, corrected in the
 * AWS proxy in front of moto ({@link FaultProxy} with `elbv2Fidelity`), so
 * the real AWS Load Balancer Controller meets ELBv2 as it behaves in AWS.
 * Each correction names the AWS behaviour it restores:
 *
 * | call                                   | moto                               | ELBv2 (what the proxy makes of it)                                   |
 * |----------------------------------------|------------------------------------|----------------------------------------------------------------------|
 * | DescribeListeners                      | lists default **and** SNI certs    | `Listener.Certificates` holds only the default certificate           |
 * | CreateListener, ModifyListener, AddListenerCertificates | takes any ARN     | a certificate ACM does not have ISSUED → 400 `CertificateNotFound`    |
 * | AddListenerCertificates                | 25 per listener, default included  | > 25 non-default certificates per load balancer → 400 `TooManyCertificates`; the 25th SNI certificate is accepted |
 * | AddListenerCertificates                | appends a certificate it has again | a certificate already on the listener: success, not added again      |
 * | CreateLoadBalancer, DescribeLoadBalancers | DNSName `<name>-1.<region>.elb.amazonaws.com`, no `internal-` | `<name>-<10 digits>.<region>.elb.amazonaws.com`, `internal-` in front for scheme internal (digits stable per name) |
 * | CreateRule, ModifyRule, CreateListener, ModifyListener with a `jwt-validation` action; DescribeRules, DescribeListeners, SetRulePriorities | does not know the action type | kept and listed in ELBv2's shape (moto gets the rest); refused for an `http://` JWKS endpoint or a listener that is not HTTPS (see the end of this file) |
 * | RemoveListenerCertificates of the listener's default certificate | removes it (its one list holds the default first) | the default stays (ELBv2 keeps it apart from the certificate list) |
 * | SetRulePriorities                      | checks each new priority against the rules' **current** ones: a swap (the controller's "push the old rule down, move the new one up") → 400 `PriorityInUse` | applied as one change: only a clash with the new order is refused; the proxy applies it to moto in two steps (see {@link Elbv2Fidelity.setRulePriorities}) |
 *
 * moto refuses the 25th SNI certificate of a listener (it counts the default
 * one); the proxy then holds that certificate itself and adds it to the
 * listener's DescribeListenerCertificates answer (and takes it out again on
 * RemoveListenerCertificates), so clients see ELBv2's quota.
 *
 * The quota is the default one ("Certificates per Application Load Balancer
 * (excluding default certificates)": 25) unless the testbed lowers it
 * (`albCertificateQuota`, so an end-to-end test needs few namespaces for two
 * ALB shards); ELBv2 counts it per load balancer, over all its listeners.
 * DescribeAccountLimits then reports that same number as
 * `certificates-per-application-load-balancer` (moto always answers 25), as
 * ELBv2 reports an account's raised or lowered quota: the product reads the
 * quota, it does not assume it.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { child, members, parseXml, text, unescapeXml, type XmlNode } from './lib/aws-query';

/** Non-default certificates an ALB may hold (the default AWS quota). */
export const MAX_SNI_CERTIFICATES_PER_ALB = 25;

const ELBV2_XMLNS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

/** An error answer of ELBv2 (Query protocol). */
export interface ProxyAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The error answer ELBv2 gives, in its XML shape (what the SDKs parse into a typed error). */
export function elbv2Error(code: string, message: string): ProxyAnswer {
  const requestId = randomUUID();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ELBV2_XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: 400, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

/** `Certificates.member.N.CertificateArn` values of a Query request body. */
export function requestedCertificateArns(form: URLSearchParams): string[] {
  const out: string[] = [];
  for (const [k, v] of form) if (/^Certificates\.member\.\d+\.CertificateArn$/.test(k)) out.push(v);
  return out;
}

/**
 * DescribeListeners: keep only the first (default) entry of each listener's
 * `<Certificates>`, as ELBv2 does (its SNI certificates are listed by
 * DescribeListenerCertificates only). Without this the controller sees a
 * default-certificate mismatch and calls ModifyListener on every reconcile.
 */
export function trimListenerCertificates(xml: string): string {
  return xml.replace(/<Certificates>([\s\S]*?)<\/Certificates>/g, (whole, inner: string) => {
    const first = /<member>[\s\S]*?<\/member>/.exec(inner);
    return first ? `<Certificates>${first[0]}</Certificates>` : whole;
  });
}

/**
 * ALB DNS names as ELBv2 gives them: `<name>-<digits>.<region>.elb.amazonaws.com`
 * (moto always writes `-1`), with `internal-` in front for an internal one.
 * The digits come from the name, so every answer gives the same name.
 */
export function realDnsNames(xml: string, internal: ReadonlySet<string>): string {
  return xml.replace(/<DNSName>([A-Za-z0-9-]+)-1\.([a-z0-9-]+)\.elb\.amazonaws\.com<\/DNSName>/g, (_, name: string, region: string) => {
    const n = BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 15)}`);
    const digits = `${1 + Number(n % 9n)}${String(n % 1_000_000_000n).padStart(9, '0')}`;
    return `<DNSName>${internal.has(name) ? 'internal-' : ''}${name}-${digits}.${region}.elb.amazonaws.com</DNSName>`;
  });
}

/** DescribeAccountLimits with `certificates-per-application-load-balancer` set to `quota`. */
export function withCertificateQuota(xml: string, quota: number): string {
  return xml.replace(
    /(<Name>certificates-per-application-load-balancer<\/Name>\s*<Max>)[0-9]+(<\/Max>)|(<Max>)[0-9]+(<\/Max>\s*<Name>certificates-per-application-load-balancer<\/Name>)/g,
    (_m, a?: string, b?: string, c?: string, d?: string) => (a !== undefined ? `${a}${quota}${b}` : `${c}${quota}${d}`),
  );
}

/** The highest priority a listener rule can have (ELBv2 API reference, CreateRule: "Priority … Valid Range: 1–50000"). */
export const MAX_RULE_PRIORITY = 50_000;

/** The listener ARN a rule ARN belongs to (`…:listener-rule/app/<lb>/<id>/<listener>/<rule>`). */
export function listenerOfRule(ruleArn: string): string {
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
}

/** Many shared holders or one exclusive one; an exclusive waiter goes before later shared ones. */
export class ReadWriteLock {
  private active = 0;
  private drained: (() => void) | undefined;
  private exclusiveTurn: Promise<void> | undefined;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusiveTurn) await this.exclusiveTurn;
    this.active += 1;
    try {
      return await fn();
    } finally {
      this.active -= 1;
      if (this.active === 0) this.drained?.();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusiveTurn) await this.exclusiveTurn;
    let release!: () => void;
    this.exclusiveTurn = new Promise<void>((r) => (release = r));
    try {
      if (this.active > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.exclusiveTurn = undefined;
      release();
    }
  }
}

/** Calls moto directly (the corrections' own reads are not counted as client calls). */
export type UpstreamCall = (o: { service: string; region: string; headers: Record<string, string>; body: string }) => Promise<{
  status: number;
  body: string;
}>;

/** moto's own limit: certificates on one listener, the default included. */
const MOTO_CERTIFICATES_PER_LISTENER = 25;

/** The success answer ELBv2 gives to Add/RemoveListenerCertificates. */
function certificatesAnswer(action: 'AddListenerCertificates' | 'RemoveListenerCertificates', arns: string[]): ProxyAnswer {
  const requestId = randomUUID();
  const list =
    action === 'AddListenerCertificates'
      ? `<Certificates>${arns.map((a) => `<member><CertificateArn>${a}</CertificateArn></member>`).join('')}</Certificates>`
      : '';
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${ELBV2_XMLNS}"><${action}Result>${list}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

/** See the module comment. */
export class Elbv2Fidelity {
  /** SNI certificates ELBv2 would hold but moto refused (its quota counts the default one), by listener ARN. */
  private readonly held = new Map<string, Set<string>>();
  /** Load balancers created through the proxy with scheme internal, by name. */
  private readonly internal = new Set<string>();
  /** `jwt-validation` actions moto cannot hold, by rule ARN (Actions) or listener ARN (DefaultActions). */
  private readonly jwt = new Map<string, JwtValidationAction>();
  /** Names of ALBs created through the proxy, and those the data plane has served (active from then on). */
  private readonly created = new Set<string>();
  private readonly active = new Set<string>();
  private serving: ((dnsName: string) => boolean) | undefined;
  /** See {@link Elbv2Fidelity.gate}. */
  private readonly lock = new ReadWriteLock();

  constructor(
    private readonly upstream: UpstreamCall,
    /** ACM status as the client would read it (the proxy's DescribeCertificate rewrites included). */
    private readonly rewriteDescribeCertificate: (body: Buffer) => Buffer,
    /** The account's `certificates-per-application-load-balancer` (default: ELBv2's default quota). */
    private readonly sniQuota: number = MAX_SNI_CERTIFICATES_PER_ALB,
  ) {}

  /**
   * The answer ELBv2 would give when it differs from what moto would (an
   * error, or a success moto cannot give), else undefined: forward the request.
   */
  async check(operation: string, region: string, body: string): Promise<ProxyAnswer | undefined> {
    const jwtRefusal = await this.checkJwt(operation, region, body);
    if (jwtRefusal) return jwtRefusal;
    if (operation === 'RemoveListenerCertificates') {
      return this.removeHeld(new URLSearchParams(body)) ?? (await this.keepDefaultCertificate(region, body));
    }
    if (operation === 'SetRulePriorities') return this.setRulePriorities(region, body);
    if (operation === 'DescribeAccountLimits') return undefined;
    if (operation === 'CreateLoadBalancer') {
      const form = new URLSearchParams(body);
      if (form.get('Scheme') === 'internal') this.internal.add(form.get('Name') ?? '');
      this.created.add(form.get('Name') ?? '');
      return undefined;
    }
    if (operation !== 'CreateListener' && operation !== 'ModifyListener' && operation !== 'AddListenerCertificates') return undefined;
    const form = new URLSearchParams(body);
    const arns = requestedCertificateArns(form);
    for (const arn of arns) {
      const status = await this.acmStatus(arn, region);
      // ELBv2 takes only certificates ACM has ISSUED; for one that is missing,
      // pending validation or failed it answers CertificateNotFound (the
      // message the controller then reports in its FailedDeployModel event).
      if (status !== 'ISSUED') return elbv2Error('CertificateNotFound', `Certificate '${arn}' not found`);
    }
    if (operation === 'AddListenerCertificates' && arns.length > 0) {
      const listenerArn = form.get('ListenerArn') ?? '';
      const { onAlb, onListener, inMoto } = await this.sniCertificates(listenerArn, region);
      const added = [...new Set(arns.filter((a) => !onListener.has(a)))];
      // A certificate already in the list: ELBv2 answers success and does not add it again.
      if (added.length === 0) return certificatesAnswer('AddListenerCertificates', arns);
      if (onAlb + added.length > this.sniQuota) {
        return elbv2Error('TooManyCertificates', "You've reached the limit on the number of certificates per load balancer.");
      }
      if (inMoto + added.length > MOTO_CERTIFICATES_PER_LISTENER) {
        const held = this.held.get(listenerArn) ?? new Set<string>();
        for (const a of added) held.add(a);
        this.held.set(listenerArn, held);
        return certificatesAnswer('AddListenerCertificates', arns);
      }
    }
    return undefined;
  }

  /**
   * ELBv2's checks of a `jwt-validation` action that moto cannot make:
   * the JWKS endpoint "must be a full URL, including the HTTPS protocol"
   * (API reference, JwtValidationActionConfig), and the action runs on HTTPS
   * listeners only ("JWT validation is only supported for HTTPS listeners",
   * User Guide, listener-verify-jwt). The error codes and messages are
   * the testbed's: the documentation gives none.
   */
  private async checkJwt(operation: string, region: string, body: string): Promise<ProxyAnswer | undefined> {
    const list = JWT_ACTION_LISTS[operation];
    if (!list) return undefined;
    const form = new URLSearchParams(body);
    const taken = takeJwtAction(form, list);
    if (!taken) return undefined;
    const { jwt } = taken;
    if (!/^https:\/\/[^/]+/.test(jwt.jwksEndpoint)) {
      return elbv2Error('ValidationError', `JwksEndpoint '${jwt.jwksEndpoint}' must be a full URL, including the HTTPS protocol`);
    }
    let protocol = form.get('Protocol') ?? undefined;
    if (!protocol) {
      const listenerArn =
        form.get('ListenerArn') ?? (form.get('RuleArn') ?? '').replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
      const found = members(child(await this.elbv2(region, 'DescribeListeners', { 'ListenerArns.member.1': listenerArn }), 'Listeners'))[0];
      protocol = found ? text(found, 'Protocol') : undefined;
    }
    if (protocol && protocol !== 'HTTPS') {
      return elbv2Error('InvalidConfigurationRequest', 'JWT validation is supported only on HTTPS listeners');
    }
    return undefined;
  }

  /** The request moto gets: without a `jwt-validation` action it cannot take (undefined: unchanged). */
  requestBody(operation: string, body: string): string | undefined {
    const list = JWT_ACTION_LISTS[operation];
    if (!list) return undefined;
    return takeJwtAction(new URLSearchParams(body), list)?.rest.toString();
  }

  /** The held `jwt-validation` actions, by rule or listener ARN (what ELBv2 would hold). */
  jwtActions(): ReadonlyMap<string, JwtValidationAction> {
    return this.jwt;
  }

  /** Keeps or drops the held action after a successful write, from the client's request and moto's answer. */
  private holdJwt(operation: string, request: string, answer: string): void {
    const list = JWT_ACTION_LISTS[operation];
    if (list) {
      const form = new URLSearchParams(request);
      const arnTag = list === 'Actions' ? 'RuleArn' : 'ListenerArn';
      const arn = form.get(arnTag) ?? new RegExp(`<${arnTag}>([^<]+)</${arnTag}>`).exec(answer)?.[1];
      if (!arn) return;
      const key = unescapeXml(arn);
      // A Modify* without the list keeps what the rule or listener had.
      const hasList = [...form.keys()].some((k) => k.startsWith(`${list}.member.`));
      if (!hasList) return;
      const taken = takeJwtAction(form, list);
      if (taken) this.jwt.set(key, taken.jwt);
      else this.jwt.delete(key);
    }
    if (operation === 'DeleteRule') this.jwt.delete(new URLSearchParams(request).get('RuleArn') ?? '');
    if (operation === 'DeleteListener') {
      const arn = new URLSearchParams(request).get('ListenerArn') ?? '';
      this.jwt.delete(arn);
      const rulePrefix = `${arn.replace(':listener/', ':listener-rule/')}/`;
      for (const k of [...this.jwt.keys()]) if (k.startsWith(rulePrefix)) this.jwt.delete(k);
    }
  }

  /**
   * SetRulePriorities as ELBv2 applies it. The API reference (SetRulePriorities)
   * says "You can reorder the rules as long as there are no priority conflicts
   * in the new order. Any existing rules that you do not specify retain their
   * current priority": the priorities are applied as one change, checked
   * against the order that results. moto 5.2.5 (`set_rule_priorities`)
   * instead refuses a priority any rule of the listener holds now, the moved
   * rules included, so the controller's swap (old rule to 50000, new rule to
   * the old one's priority; listener_rule_manager.go
   * buildSDKSetRulePrioritiesInput) fails with PriorityInUse on every retry.
   *
   * When moto alone would refuse a request ELBv2 takes, the proxy applies it
   * in two steps: first the named rules go to free priorities (ones no rule
   * holds and none is asked for), then to the asked ones; if the second step
   * fails they go back. The answer is moto's to the second step: ELBv2's
   * shape, the rules with their new priorities. Every other case (a rule
   * that is not there, a clash with a rule not named, a priority asked twice,
   * or no swap at all) goes to moto unchanged and gets moto's answer.
   * ELBv2 calls through the proxy wait while the two steps run
   * ({@link Elbv2Fidelity.gate}), so no reader sees the order in between.
   */
  private async setRulePriorities(region: string, body: string): Promise<ProxyAnswer | undefined> {
    const form = new URLSearchParams(body);
    const asked = new Map<string, number>();
    const byIndex = new Map<number, { arn?: string; priority?: string }>();
    for (const [k, v] of form) {
      const m = /^RulePriorities\.member\.(\d+)\.(RuleArn|Priority)$/.exec(k);
      if (!m) continue;
      const e = byIndex.get(Number(m[1])) ?? {};
      if (m[2] === 'RuleArn') e.arn = v;
      else e.priority = v;
      byIndex.set(Number(m[1]), e);
    }
    for (const { arn, priority } of byIndex.values()) {
      if (!arn || !priority || !/^\d+$/.test(priority) || asked.has(arn)) return undefined;
      asked.set(arn, Number(priority));
    }
    const wanted = [...asked.values()];
    if (wanted.length === 0 || new Set(wanted).size !== wanted.length) return undefined;

    // The current priority of every rule on the listeners the request names.
    const current = new Map<string, number | 'default'>();
    const listeners = new Set([...asked.keys()].map(listenerOfRule));
    for (const listenerArn of listeners) {
      for (const r of await this.listRules(region, listenerArn)) {
        const p = text(r, 'Priority');
        current.set(text(r, 'RuleArn'), p === 'default' ? 'default' : Number(p));
      }
    }
    if ([...asked.keys()].some((arn) => !current.has(arn) || current.get(arn) === 'default')) return undefined;
    // ELBv2's check: the new order, per listener, has no priority twice.
    for (const listenerArn of listeners) {
      const final = [...current]
        .filter(([arn, p]) => p !== 'default' && listenerOfRule(arn) === listenerArn)
        .map(([arn, p]) => asked.get(arn) ?? (p as number));
      if (new Set(final).size !== final.length) return undefined;
    }
    // moto's check: would it refuse? Only then are two steps needed.
    const held = new Set([...current.values()].filter((p): p is number => p !== 'default'));
    if (!wanted.some((p) => held.has(p))) return undefined;

    // Free priorities, from the top of ELBv2's range (1..50000) down.
    const taken = new Set([...held, ...wanted]);
    const temporary = new Map<string, number>();
    let next = MAX_RULE_PRIORITY;
    // In the order of the asked priorities, so the moved rules keep their new relative order.
    for (const [arn] of [...asked].sort(([, a], [, b]) => b - a)) {
      while (taken.has(next)) next -= 1;
      if (next < 1) return undefined;
      temporary.set(arn, next);
      next -= 1;
    }
    const step = (to: ReadonlyMap<string, number>) => {
      const params: Record<string, string> = { Action: 'SetRulePriorities', Version: '2015-12-01' };
      [...to].forEach(([arn, p], i) => {
        params[`RulePriorities.member.${i + 1}.RuleArn`] = arn;
        params[`RulePriorities.member.${i + 1}.Priority`] = String(p);
      });
      return this.upstream({
        service: 'elasticloadbalancing',
        region,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: new URLSearchParams(params).toString(),
      });
    };
    const first = await step(temporary);
    if (first.status !== 200) return undefined;
    const second = await step(asked);
    if (second.status !== 200) {
      // Back where they were, then moto's refusal of the second step.
      const back = new Map([...asked.keys()].map((arn) => [arn, current.get(arn) as number]));
      await step(back);
      return { status: second.status, headers: { 'content-type': 'text/xml' }, body: second.body };
    }
    const requestId = /<RequestId>([^<]+)<\/RequestId>/.exec(second.body)?.[1] ?? randomUUID();
    return {
      status: 200,
      headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
      body: insertJwtActions(second.body, this.jwt),
    };
  }

  /** Every rule of a listener, as moto lists it (all pages). */
  private async listRules(region: string, listenerArn: string): Promise<XmlNode[]> {
    const out: XmlNode[] = [];
    let marker: string | undefined;
    do {
      const page = await this.elbv2(region, 'DescribeRules', {
        ListenerArn: listenerArn,
        PageSize: '400',
        ...(marker ? { Marker: marker } : {}),
      });
      out.push(...members(child(page, 'Rules')));
      marker = text(page, 'NextMarker') || undefined;
    } while (marker);
    return out;
  }

  /**
   * Runs one ELBv2 call through the proxy: `SetRulePriorities` alone (its two
   * steps must look like one change to every reader), every other call
   * alongside the others.
   */
  gate<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return operation === 'SetRulePriorities' ? this.lock.exclusive(call) : this.lock.shared(call);
  }

  /**
   * RemoveListenerCertificates never takes away the listener's default
   * certificate. ELBv2 keeps the default apart from the certificate list
   * (API reference, DescribeListenerCertificates: "If the default certificate
   * is also in the certificate list, it appears twice in the results (once
   * with IsDefault set to true and once with IsDefault set to false)"), so
   * removing it from the list leaves it the default. moto 5.2.5 keeps one
   * list whose first entry is the default and drops it: after the
   * controller's ModifyListener to a new default followed by the removal of
   * that certificate from the SNI list (listener_synthesizer), moto's
   * listener lost it. The proxy takes the default out of the request; when
   * nothing is left it answers ELBv2's success itself.
   */
  private async keepDefaultCertificate(region: string, body: string): Promise<ProxyAnswer | undefined> {
    const form = new URLSearchParams(body);
    const arns = requestedCertificateArns(form);
    if (arns.length === 0) return undefined;
    const listenerArn = form.get('ListenerArn') ?? '';
    const certs = members(child(await this.elbv2(region, 'DescribeListenerCertificates', { ListenerArn: listenerArn }), 'Certificates'));
    const defaultArn = certs.find((c) => text(c, 'IsDefault') === 'true');
    const def = defaultArn ? text(defaultArn, 'CertificateArn') : undefined;
    if (!def || !arns.includes(def)) return undefined;
    const rest = arns.filter((a) => a !== def);
    if (rest.length === 0) return certificatesAnswer('RemoveListenerCertificates', []);
    const params: Record<string, string> = { Action: 'RemoveListenerCertificates', Version: '2015-12-01', ListenerArn: listenerArn };
    rest.forEach((a, i) => (params[`Certificates.member.${i + 1}.CertificateArn`] = a));
    const res = await this.upstream({
      service: 'elasticloadbalancing',
      region,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, headers: { 'content-type': 'text/xml' }, body: res.body };
  }

  /**
   * The data plane's answer to "does it serve this ALB yet?" (by DNS name).
   * From then on a new ALB is `active`; before, `provisioning`.
   */
  servedBy(serving: (dnsName: string) => boolean): void {
    this.serving = serving;
  }

  /**
   * A new ALB is `provisioning` until it serves (ELBv2 API reference,
   * LoadBalancerState: `provisioning`, then `active` "when the load balancer
   * is fully set up and routing traffic"); moto reports `active` at once.
   * With {@link servedBy}, an ALB created through the proxy stays
   * `provisioning` until the testbed's data plane serves its name, so a
   * client that waits for `active` (GetLoadBalancerAddress) finds it
   * resolvable. Once served it stays `active`.
   */
  private provisioningUntilServed(xml: string): string {
    const serving = this.serving;
    if (!serving || this.created.size === 0) return xml;
    return xml.replace(
      /<member>(?:(?!<\/?member>)[\s\S])*?<LoadBalancerName>([^<]+)<\/LoadBalancerName>[\s\S]*?<\/State>/g,
      (m: string, name: string) => {
        if (!this.created.has(name) || this.active.has(name)) return m;
        const dns = /<DNSName>([^<]+)<\/DNSName>/.exec(m)?.[1];
        if (dns && serving(dns)) {
          this.active.add(name);
          return m;
        }
        return m.replace(/<State>(\s*)<Code>active<\/Code>/, '<State>$1<Code>provisioning</Code>');
      },
    );
  }

  /** RemoveListenerCertificates of certificates the proxy holds: answered here; others go to moto. */
  private removeHeld(form: URLSearchParams): ProxyAnswer | undefined {
    const held = this.held.get(form.get('ListenerArn') ?? '');
    const arns = [...form].filter(([k]) => /^Certificates\.member\.\d+\.CertificateArn$/.test(k)).map(([, v]) => v);
    const wasHeld = arns.filter((a) => held?.has(a));
    if (!held || wasHeld.length === 0) return undefined;
    for (const a of wasHeld) held.delete(a);
    // Only held ones: moto never had them, so ELBv2's success is answered here.
    if (wasHeld.length === arns.length) return certificatesAnswer('RemoveListenerCertificates', []);
    return undefined;
  }

  /** The answer the client gets (moto's, corrected). `request`: the request's form body. */
  rewrite(operation: string, status: number, body: Buffer, request = ''): Buffer {
    if (status !== 200) return body;
    if (JWT_ACTION_LISTS[operation] || operation === 'DeleteRule' || operation === 'DeleteListener') {
      this.holdJwt(operation, request, body.toString('utf8'));
    }
    if (operation === 'DescribeListeners') {
      return Buffer.from(insertJwtActions(trimListenerCertificates(body.toString('utf8')), this.jwt));
    }
    if (JWT_ACTION_LISTS[operation] || operation === 'DescribeRules' || operation === 'SetRulePriorities')
      return Buffer.from(insertJwtActions(body.toString('utf8'), this.jwt));
    if (operation === 'DescribeAccountLimits') return Buffer.from(withCertificateQuota(body.toString('utf8'), this.sniQuota));
    if (operation === 'CreateLoadBalancer' || operation === 'DescribeLoadBalancers') {
      return Buffer.from(this.provisioningUntilServed(realDnsNames(body.toString('utf8'), this.internal)));
    }
    if (operation === 'DescribeListenerCertificates') {
      const held = this.held.get(new URLSearchParams(request).get('ListenerArn') ?? '');
      if (!held || held.size === 0) return body;
      const extra = [...held].map((a) => `<member><CertificateArn>${a}</CertificateArn><IsDefault>false</IsDefault></member>`).join('');
      return Buffer.from(body.toString('utf8').replace('</Certificates>', `${extra}</Certificates>`));
    }
    return body;
  }

  private async acmStatus(arn: string, fallbackRegion: string): Promise<string | undefined> {
    const region = arn.split(':')[3] || fallbackRegion;
    const res = await this.upstream({
      service: 'acm',
      region,
      headers: { 'x-amz-target': 'CertificateManager.DescribeCertificate', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ CertificateArn: arn }),
    });
    if (res.status !== 200) return undefined;
    const seen = JSON.parse(this.rewriteDescribeCertificate(Buffer.from(res.body)).toString('utf8')) as {
      Certificate?: { Status?: string };
    };
    return seen.Certificate?.Status;
  }

  private async elbv2(region: string, action: string, params: Record<string, string>) {
    const res = await this.upstream({
      service: 'elasticloadbalancing',
      region,
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: new URLSearchParams({ Action: action, Version: '2015-12-01', ...params }).toString(),
    });
    if (res.status !== 200) throw new Error(`ELBv2 ${action} (quota check) answered ${res.status}: ${res.body.slice(0, 200)}`);
    return child(child(parseXml(res.body), `${action}Response`), `${action}Result`);
  }

  /**
   * Non-default certificates on the listener's load balancer (all listeners,
   * held ones included), those on this listener, and how many moto has on it.
   */
  private async sniCertificates(listenerArn: string, region: string): Promise<{ onAlb: number; onListener: Set<string>; inMoto: number }> {
    const own = await this.elbv2(region, 'DescribeListeners', { 'ListenerArns.member.1': listenerArn });
    const lbArn = text(members(child(own, 'Listeners'))[0], 'LoadBalancerArn');
    const all = lbArn ? await this.elbv2(region, 'DescribeListeners', { LoadBalancerArn: lbArn }) : own;
    let onAlb = 0;
    let inMoto = 0;
    const onListener = new Set<string>();
    for (const l of members(child(all, 'Listeners'))) {
      const arn = text(l, 'ListenerArn');
      const certs = members(child(await this.elbv2(region, 'DescribeListenerCertificates', { ListenerArn: arn }), 'Certificates'));
      if (arn === listenerArn) inMoto = certs.length;
      const sni = new Set([
        ...certs.filter((c) => text(c, 'IsDefault') !== 'true').map((c) => text(c, 'CertificateArn')),
        ...(this.held.get(arn) ?? []),
      ]);
      onAlb += sni.size;
      if (arn === listenerArn) for (const a of sni) onListener.add(a);
    }
    return { onAlb, onListener, inMoto };
  }
}

/** Makes an {@link UpstreamCall} to moto at `upstream`. */
export function motoCaller(upstream: URL): UpstreamCall {
  return (o) =>
    new Promise((resolve, reject) => {
      const date = new Date().toISOString().replace(/[-:]/g, '').slice(0, 8);
      const req = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: 'POST',
          path: '/',
          timeout: 15_000,
          headers: {
            ...o.headers,
            'content-length': String(Buffer.byteLength(o.body)),
            authorization: `AWS4-HMAC-SHA256 Credential=testing/${date}/${o.region}/${o.service}/aws4_request, SignedHeaders=host, Signature=0`,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('upstream timeout')));
      req.on('error', reject);
      req.end(o.body);
    });
}

// ---------------------------------------------------------------------------
// The `jwt-validation` action (ALB JWT verification, 2025-11), which moto
// 5.2.5's ELBv2 does not know (it refuses the action type). The proxy keeps
// it: on CreateRule/ModifyRule (`Actions`) and CreateListener/ModifyListener
// (`DefaultActions`) it takes the action out of the request moto gets (moto
// stores the rest, e.g. the forward with Order 2) and holds it by rule or
// listener ARN; every answer that lists those actions (the four calls,
// DescribeRules, DescribeListeners) gets it back in ELBv2's shape, so the
// controller's comparison (pkg/equality/elbv2 CompareOptionForActions:
// Type, JwtValidationConfig{JwksEndpoint, Issuer, AdditionalClaims}, sorted
// by Order) sees no drift, and the data plane renders it.
// ---------------------------------------------------------------------------

/** One additional claim of a `jwt-validation` action (ELBv2 `JwtValidationActionAdditionalClaim`). */
export interface JwtAdditionalClaim {
  format: 'single-string' | 'string-array' | 'space-separated-values';
  name: string;
  values: string[];
}

/** A `jwt-validation` action (ELBv2 `Action` with `JwtValidationConfig`). */
export interface JwtValidationAction {
  order: number;
  issuer: string;
  jwksEndpoint: string;
  additionalClaims: JwtAdditionalClaim[];
}

type ActionList = 'Actions' | 'DefaultActions';

/** The calls that write actions, and which list they write. */
const JWT_ACTION_LISTS: Record<string, ActionList | undefined> = {
  CreateRule: 'Actions',
  ModifyRule: 'Actions',
  CreateListener: 'DefaultActions',
  ModifyListener: 'DefaultActions',
};

/** The `jwt-validation` action of a Query request's action list, and the form without it (members renumbered), if any. */
export function takeJwtAction(form: URLSearchParams, list: ActionList): { jwt: JwtValidationAction; rest: URLSearchParams } | undefined {
  const re = new RegExp(`^${list}\\.member\\.(\\d+)\\.(.+)$`);
  const byIndex = new Map<number, [string, string][]>();
  for (const [k, v] of form) {
    const m = re.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    byIndex.set(i, [...(byIndex.get(i) ?? []), [m[2]!, v]]);
  }
  const jwtIndex = [...byIndex].find(([, fields]) => fields.some(([f, v]) => f === 'Type' && v === 'jwt-validation'))?.[0];
  if (jwtIndex === undefined) return undefined;
  const fields = new Map(byIndex.get(jwtIndex));
  const claims = new Map<number, JwtAdditionalClaim & { valueAt: Map<number, string> }>();
  for (const [f, v] of fields) {
    const m = /^JwtValidationConfig\.AdditionalClaims\.member\.(\d+)\.(Format|Name|Values\.member\.(\d+))$/.exec(f);
    if (!m) continue;
    const c = claims.get(Number(m[1])) ?? { format: 'single-string', name: '', values: [], valueAt: new Map<number, string>() };
    if (m[2] === 'Format') c.format = v as JwtAdditionalClaim['format'];
    else if (m[2] === 'Name') c.name = v;
    else c.valueAt.set(Number(m[3]), v);
    claims.set(Number(m[1]), c);
  }
  const jwt: JwtValidationAction = {
    order: Number(fields.get('Order') ?? jwtIndex),
    issuer: fields.get('JwtValidationConfig.Issuer') ?? '',
    jwksEndpoint: fields.get('JwtValidationConfig.JwksEndpoint') ?? '',
    additionalClaims: [...claims]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => ({
        format: c.format,
        name: c.name,
        values: [...c.valueAt].sort(([a], [b]) => a - b).map(([, v]) => v),
      })),
  };
  // The other members, re-keyed so moto sees member.1..n without a gap.
  const renumber = new Map(
    [...byIndex.keys()]
      .filter((i) => i !== jwtIndex)
      .sort((a, b) => a - b)
      .map((i, n) => [i, n + 1]),
  );
  const out = new URLSearchParams();
  for (const [k, v] of form) {
    const m = re.exec(k);
    if (!m) out.append(k, v);
    else if (Number(m[1]) !== jwtIndex) out.append(`${list}.member.${renumber.get(Number(m[1]))}.${m[2]}`, v);
  }
  return { jwt, rest: out };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The action as ELBv2 lists it (a `<member>` of `Actions` / `DefaultActions`). */
export function jwtActionXml(a: JwtValidationAction): string {
  const claims = a.additionalClaims.length
    ? `<AdditionalClaims>${a.additionalClaims
        .map(
          (c) =>
            `<member><Format>${c.format}</Format><Name>${escapeXml(c.name)}</Name><Values>${c.values.map((v) => `<member>${escapeXml(v)}</member>`).join('')}</Values></member>`,
        )
        .join('')}</AdditionalClaims>`
    : '';
  return `<member><Type>jwt-validation</Type><Order>${a.order}</Order><JwtValidationConfig><JwksEndpoint>${escapeXml(a.jwksEndpoint)}</JwksEndpoint><Issuer>${escapeXml(a.issuer)}</Issuer>${claims}</JwtValidationConfig></member>`;
}

/** [start, end) of each top-level `<member>…</member>` between `from` and `to`. */
function topLevelMembers(xml: string, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  const tag = /<(\/?)member>/g;
  tag.lastIndex = from;
  let depth = 0;
  let start = -1;
  for (let m = tag.exec(xml); m && m.index < to; m = tag.exec(xml)) {
    if (!m[1]) {
      if (depth === 0) start = m.index;
      depth += 1;
    } else {
      depth -= 1;
      if (depth === 0) out.push([start, m.index + m[0].length]);
    }
  }
  return out;
}

/**
 * Puts the held actions back into an answer's `<Rules>` (by `RuleArn`, into
 * `Actions`) or `<Listeners>` (by `ListenerArn`, into `DefaultActions`).
 */
export function insertJwtActions(xml: string, held: ReadonlyMap<string, JwtValidationAction>): string {
  if (held.size === 0) return xml;
  const lists: [string, string, string][] = [
    ['Rules', 'RuleArn', 'Actions'],
    ['Listeners', 'ListenerArn', 'DefaultActions'],
  ];
  let out = xml;
  for (const [container, arnTag, actionsTag] of lists) {
    const open = out.indexOf(`<${container}>`);
    const close = out.lastIndexOf(`</${container}>`);
    if (open < 0 || close < 0) continue;
    const spans = topLevelMembers(out, open, close);
    // Back to front, so earlier offsets stay valid.
    for (const [s, e] of spans.reverse()) {
      const member = out.slice(s, e);
      const arn = new RegExp(`<${arnTag}>([^<]+)</${arnTag}>`).exec(member)?.[1];
      const jwt = arn ? held.get(unescapeXml(arn)) : undefined;
      if (!jwt || member.includes('<Type>jwt-validation</Type>')) continue;
      let changed = member.replace(`<${actionsTag}>`, `<${actionsTag}>${jwtActionXml(jwt)}`);
      if (changed === member) changed = member.replace(`<${actionsTag}/>`, `<${actionsTag}>${jwtActionXml(jwt)}</${actionsTag}>`);
      out = out.slice(0, s) + changed + out.slice(e);
    }
  }
  return out;
}
