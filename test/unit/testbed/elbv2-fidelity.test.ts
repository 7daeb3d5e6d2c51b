/**
 * The AWS proxy's ELBv2 corrections, against a scripted moto: what ELBv2
 * refuses is refused with its error code, and DescribeListeners lists only
 * the default certificate.
 */
import { describe, expect, test } from '@jest/globals';
import {
  insertJwtActions,
  jwtActionXml,
  takeJwtAction,
  Elbv2Fidelity,
  realDnsNames,
  requestedCertificateArns,
  trimListenerCertificates,
  type UpstreamCall,
} from '../../../testbed/elbv2-fidelity';
import { members, parseXml, queryParams, text, child } from '../../../testbed/lib/aws-query';

const LISTENER = 'arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/k8s-x/1/2';
const LB = 'arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/k8s-x/1';
const cert = (i: number) => `arn:aws:acm:us-west-2:123456789012:certificate/c${i}`;

/** moto as the proxy sees it: ACM statuses, and one ALB with one listener holding `sni` + a default. */
function fakeMoto(statuses: Record<string, string>, sni: string[]): { call: UpstreamCall; calls: string[] } {
  const calls: string[] = [];
  const call: UpstreamCall = async ({ service, headers, body }) => {
    if (service === 'acm') {
      const arn = (JSON.parse(body) as { CertificateArn: string }).CertificateArn;
      calls.push(`acm:${arn}`);
      const status = statuses[arn];
      if (!status) return { status: 400, body: '{"__type":"ResourceNotFoundException"}' };
      return { status: 200, body: JSON.stringify({ Certificate: { CertificateArn: arn, Status: status } }) };
    }
    expect(headers['content-type']).toContain('x-www-form-urlencoded');
    const form = new URLSearchParams(body);
    const action = form.get('Action')!;
    calls.push(`elbv2:${action}`);
    if (action === 'DescribeListeners') {
      return {
        status: 200,
        body: `<DescribeListenersResponse><DescribeListenersResult><Listeners><member><ListenerArn>${LISTENER}</ListenerArn><LoadBalancerArn>${LB}</LoadBalancerArn></member></Listeners></DescribeListenersResult></DescribeListenersResponse>`,
      };
    }
    if (action === 'DescribeListenerCertificates') {
      const m = [`<member><CertificateArn>${cert(0)}</CertificateArn><IsDefault>true</IsDefault></member>`]
        .concat(sni.map((a) => `<member><CertificateArn>${a}</CertificateArn><IsDefault>false</IsDefault></member>`))
        .join('');
      return {
        status: 200,
        body: `<DescribeListenerCertificatesResponse><DescribeListenerCertificatesResult><Certificates>${m}</Certificates></DescribeListenerCertificatesResult></DescribeListenerCertificatesResponse>`,
      };
    }
    throw new Error(`unexpected ${action}`);
  };
  return { call, calls };
}

const noRewrite = (b: Buffer) => b;
const addBody = (arns: string[]) =>
  new URLSearchParams({
    Action: 'AddListenerCertificates',
    Version: '2015-12-01',
    ListenerArn: LISTENER,
    ...Object.fromEntries(arns.map((a, i) => [`Certificates.member.${i + 1}.CertificateArn`, a])),
  }).toString();

describe('Elbv2Fidelity', () => {
  test('refuses a certificate that is not ISSUED (or unknown) with CertificateNotFound, as ELBv2 does', async () => {
    const { call } = fakeMoto({ [cert(1)]: 'PENDING_VALIDATION', [cert(2)]: 'ISSUED' }, []);
    const f = new Elbv2Fidelity(call, noRewrite);
    for (const arn of [cert(1), cert(9)]) {
      const refusal = await f.check('AddListenerCertificates', 'us-west-2', addBody([arn]));
      expect(refusal?.status).toBe(400);
      const err = child(child(parseXml(refusal!.body), 'ErrorResponse'), 'Error');
      expect(text(err, 'Code')).toBe('CertificateNotFound');
      expect(text(err, 'Message')).toBe(`Certificate '${arn}' not found`);
    }
    expect(await f.check('AddListenerCertificates', 'us-west-2', addBody([cert(2)]))).toBeUndefined();
    const modify = new URLSearchParams({ Action: 'ModifyListener', 'Certificates.member.1.CertificateArn': cert(1) }).toString();
    expect(
      text(child(child(parseXml((await f.check('ModifyListener', 'us-west-2', modify))!.body), 'ErrorResponse'), 'Error'), 'Code'),
    ).toBe('CertificateNotFound');
  });

  test('reads ACM as the client would, through the proxy’s DescribeCertificate rewrite', async () => {
    const { call } = fakeMoto({ [cert(1)]: 'ISSUED' }, []);
    const failed = (b: Buffer) => Buffer.from(b.toString().replace('"ISSUED"', '"FAILED"'));
    const refusal = await new Elbv2Fidelity(call, failed).check('CreateListener', 'us-west-2', addBody([cert(1)]));
    expect(refusal?.body).toContain('CertificateNotFound');
  });

  test('the 26th non-default certificate on a load balancer fails with TooManyCertificates; re-adding one it has succeeds without adding', async () => {
    const issued = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [cert(i), 'ISSUED']));
    const has25 = Array.from({ length: 25 }, (_, i) => cert(i + 1));
    const full = new Elbv2Fidelity(fakeMoto(issued, has25).call, noRewrite);
    const refusal = await full.check('AddListenerCertificates', 'us-west-2', addBody([cert(26)]));
    expect(text(child(child(parseXml(refusal!.body), 'ErrorResponse'), 'Error'), 'Code')).toBe('TooManyCertificates');
    const again = await full.check('AddListenerCertificates', 'us-west-2', addBody([cert(3)]));
    expect(again?.status).toBe(200);
    expect(again?.body).toContain('<AddListenerCertificatesResponse');
  });

  test('the 25th SNI certificate, which moto refuses (its limit counts the default), is held by the proxy and listed', async () => {
    const issued = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [cert(i), 'ISSUED']));
    const has24 = Array.from({ length: 24 }, (_, i) => cert(i + 1));
    const moto = fakeMoto(issued, has24);
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    const added = await f.check('AddListenerCertificates', 'us-west-2', addBody([cert(25)]));
    expect(added?.status).toBe(200);
    const listed = f.rewrite(
      'DescribeListenerCertificates',
      200,
      Buffer.from(
        `<R><DescribeListenerCertificatesResult><Certificates><member><CertificateArn>${cert(0)}</CertificateArn></member></Certificates></DescribeListenerCertificatesResult></R>`,
      ),
      `Action=DescribeListenerCertificates&ListenerArn=${encodeURIComponent(LISTENER)}`,
    );
    expect(listed.toString()).toContain(`<CertificateArn>${cert(25)}</CertificateArn><IsDefault>false</IsDefault>`);
    // The quota now counts the held one.
    const refusal = await f.check('AddListenerCertificates', 'us-west-2', addBody([cert(26)]));
    expect(refusal?.body).toContain('TooManyCertificates');
    // Removing it is answered by the proxy (moto never had it).
    const removeBody = new URLSearchParams({
      Action: 'RemoveListenerCertificates',
      ListenerArn: LISTENER,
      'Certificates.member.1.CertificateArn': cert(25),
    }).toString();
    expect((await f.check('RemoveListenerCertificates', 'us-west-2', removeBody))?.status).toBe(200);
    expect(await f.check('RemoveListenerCertificates', 'us-west-2', removeBody)).toBeUndefined();
  });

  test('with room below both limits the call goes to moto', async () => {
    const issued = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [cert(i), 'ISSUED']));
    const f = new Elbv2Fidelity(fakeMoto(issued, [cert(1)]).call, noRewrite);
    expect(await f.check('AddListenerCertificates', 'us-west-2', addBody([cert(2)]))).toBeUndefined();
  });

  test('other calls pass untouched, without extra reads', async () => {
    const moto = fakeMoto({}, []);
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    expect(await f.check('DescribeRules', 'us-west-2', 'Action=DescribeRules')).toBeUndefined();
    expect(await f.check('CreateListener', 'us-west-2', 'Action=CreateListener&Protocol=HTTP')).toBeUndefined();
    expect(moto.calls).toEqual([]);
  });
});

describe('trimListenerCertificates', () => {
  test('keeps only the default certificate of each listener', () => {
    const xml =
      '<Listeners><member><Certificates><member><CertificateArn>a</CertificateArn></member><member><CertificateArn>b</CertificateArn></member></Certificates><Port>443</Port></member>' +
      '<member><Certificates><member><CertificateArn>c</CertificateArn></member></Certificates></member></Listeners>';
    const listeners = members(child(parseXml(trimListenerCertificates(xml)), 'Listeners'));
    expect(listeners.map((l) => members(child(l, 'Certificates')).map((c) => text(c, 'CertificateArn')))).toEqual([['a'], ['c']]);
    expect(text(listeners[0], 'Port')).toBe('443');
  });
});

describe('realDnsNames', () => {
  test('ELBv2-style names: digits stable per name, internal- for internal load balancers', () => {
    const xml = (n: string) => `<LoadBalancers><member><DNSName>${n}-1.us-west-2.elb.amazonaws.com</DNSName></member></LoadBalancers>`;
    const a = realDnsNames(xml('k8s-a-b-0123456789'), new Set());
    expect(a).toMatch(/<DNSName>k8s-a-b-0123456789-[1-9]\d{9}\.us-west-2\.elb\.amazonaws\.com<\/DNSName>/);
    expect(realDnsNames(xml('k8s-a-b-0123456789'), new Set())).toBe(a);
    expect(realDnsNames(xml('k8s-c-d-0123456789'), new Set(['k8s-c-d-0123456789']))).toMatch(
      /<DNSName>internal-k8s-c-d-0123456789-\d{10}\./,
    );
  });
});

describe('Query protocol helpers', () => {
  test('requestedCertificateArns reads every Certificates.member.N', () => {
    expect(requestedCertificateArns(new URLSearchParams(addBody(['x', 'y'])))).toEqual(['x', 'y']);
  });

  test('queryParams flattens lists as ELBv2 (member.N) and EC2 (N) want them', () => {
    expect(queryParams({ ResourceArns: ['a', 'b'], Tag: [{ Key: 'k', Value: 'v' }] })).toEqual({
      'ResourceArns.member.1': 'a',
      'ResourceArns.member.2': 'b',
      'Tag.member.1.Key': 'k',
      'Tag.member.1.Value': 'v',
    });
    expect(queryParams({ ResourceId: ['s-1'], Tag: [{ Key: 'k', Value: 'v' }] }, true)).toEqual({
      'ResourceId.1': 's-1',
      'Tag.1.Key': 'k',
      'Tag.1.Value': 'v',
    });
  });

  test('parseXml: repeated elements, empty elements, entities', () => {
    expect(parseXml('<?xml version="1.0"?><a xmlns="x"><b>1</b><b>2 &amp; 3</b><c/><d></d></a>')).toEqual({
      a: { b: ['1', '2 & 3'], c: '', d: '' },
    });
  });
});

describe('jwt-validation actions (moto does not know them)', () => {
  // The form the controller's SDK (aws-sdk-go-v2 elasticloadbalancingv2 v1.54.0, Query protocol) sends.
  const createRule = new URLSearchParams({
    Action: 'CreateRule',
    ListenerArn: 'arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/k8s-x/abc/def',
    Priority: '1',
    'Actions.member.1.Type': 'jwt-validation',
    'Actions.member.1.Order': '1',
    'Actions.member.1.JwtValidationConfig.Issuer': 'https://issuer.example.com/dex',
    'Actions.member.1.JwtValidationConfig.JwksEndpoint': 'https://issuer.example.com/dex/keys',
    'Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Format': 'string-array',
    'Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Name': 'groups',
    'Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Values.member.1': 'a',
    'Actions.member.1.JwtValidationConfig.AdditionalClaims.member.1.Values.member.2': 'b&c',
    'Actions.member.2.Type': 'forward',
    'Actions.member.2.Order': '2',
    'Actions.member.2.TargetGroupArn': 'arn:tg',
  });

  test('takeJwtAction reads the action and leaves moto the rest, renumbered', () => {
    const taken = takeJwtAction(createRule, 'Actions');
    expect(taken?.jwt).toEqual({
      order: 1,
      issuer: 'https://issuer.example.com/dex',
      jwksEndpoint: 'https://issuer.example.com/dex/keys',
      additionalClaims: [{ format: 'string-array', name: 'groups', values: ['a', 'b&c'] }],
    });
    expect(Object.fromEntries(taken!.rest)).toEqual({
      Action: 'CreateRule',
      ListenerArn: createRule.get('ListenerArn'),
      Priority: '1',
      'Actions.member.1.Type': 'forward',
      'Actions.member.1.Order': '2',
      'Actions.member.1.TargetGroupArn': 'arn:tg',
    });
    expect(takeJwtAction(taken!.rest, 'Actions')).toBeUndefined();
  });

  test('insertJwtActions puts it back into the rule with that ARN, in ELBv2 shape', () => {
    const jwt = takeJwtAction(createRule, 'Actions')!.jwt;
    const xml =
      '<DescribeRulesResponse><DescribeRulesResult><Rules>' +
      '<member><RuleArn>arn:r1</RuleArn><Actions><member><Type>forward</Type><Order>2</Order></member></Actions></member>' +
      '<member><RuleArn>arn:r2</RuleArn><Actions><member><Type>forward</Type><Order>1</Order></member></Actions></member>' +
      '</Rules></DescribeRulesResult></DescribeRulesResponse>';
    const out = insertJwtActions(xml, new Map([['arn:r1', jwt]]));
    const rules = members(child(child(child(parseXml(out), 'DescribeRulesResponse'), 'DescribeRulesResult'), 'Rules'));
    const actions1 = members(child(rules[0], 'Actions'));
    expect(actions1.map((a) => text(a, 'Type'))).toEqual(['jwt-validation', 'forward']);
    const cfg = child(actions1[0], 'JwtValidationConfig');
    expect(text(cfg, 'Issuer')).toBe('https://issuer.example.com/dex');
    expect(text(cfg, 'JwksEndpoint')).toBe('https://issuer.example.com/dex/keys');
    const claim = members(child(cfg, 'AdditionalClaims'))[0];
    expect([text(claim, 'Format'), text(claim, 'Name'), members(child(claim, 'Values'))]).toEqual(['string-array', 'groups', ['a', 'b&c']]);
    expect(members(child(rules[1], 'Actions')).map((a) => text(a, 'Type'))).toEqual(['forward']);
    // Idempotent: an answer that already has it is left alone.
    expect(insertJwtActions(out, new Map([['arn:r1', jwt]]))).toBe(out);
  });

  test('jwtActionXml escapes values', () => {
    expect(jwtActionXml({ order: 1, issuer: 'https://i/<x>', jwksEndpoint: 'https://i/k?a=1&b=2', additionalClaims: [] })).toContain(
      '<JwksEndpoint>https://i/k?a=1&amp;b=2</JwksEndpoint><Issuer>https://i/&lt;x&gt;</Issuer>',
    );
  });
});

describe('Elbv2Fidelity and jwt-validation', () => {
  const RULE = LISTENER.replace(':listener/', ':listener-rule/') + '/r1';
  /** moto with one listener of `protocol`; records what it is asked. */
  function motoWithListener(protocol: string): UpstreamCall {
    return async ({ body }) => {
      const action = new URLSearchParams(body).get('Action');
      if (action !== 'DescribeListeners') throw new Error(`unexpected ${action}`);
      expect(new URLSearchParams(body).get('ListenerArns.member.1')).toBe(LISTENER);
      return {
        status: 200,
        body: `<DescribeListenersResponse><DescribeListenersResult><Listeners><member><ListenerArn>${LISTENER}</ListenerArn><Protocol>${protocol}</Protocol></member></Listeners></DescribeListenersResult></DescribeListenersResponse>`,
      };
    };
  }
  const rule = (jwks: string, arnKey: 'ListenerArn' | 'RuleArn' = 'ListenerArn') =>
    new URLSearchParams({
      Action: arnKey === 'ListenerArn' ? 'CreateRule' : 'ModifyRule',
      [arnKey]: arnKey === 'ListenerArn' ? LISTENER : RULE,
      'Actions.member.1.Type': 'jwt-validation',
      'Actions.member.1.Order': '1',
      'Actions.member.1.JwtValidationConfig.Issuer': 'https://i',
      'Actions.member.1.JwtValidationConfig.JwksEndpoint': jwks,
      'Actions.member.2.Type': 'forward',
      'Actions.member.2.Order': '2',
      'Actions.member.2.TargetGroupArn': 'arn:tg',
    }).toString();
  const code = (a: { body: string } | undefined) => text(child(child(parseXml(a!.body), 'ErrorResponse'), 'Error'), 'Code');

  test('a JWKS endpoint that is not https:// is refused (ValidationError)', async () => {
    const f = new Elbv2Fidelity(motoWithListener('HTTPS'), noRewrite);
    expect(code(await f.check('CreateRule', 'us-west-2', rule('http://i/keys')))).toBe('ValidationError');
  });

  test('on a listener that is not HTTPS the action is refused; on HTTPS it passes to moto without the action', async () => {
    const http = new Elbv2Fidelity(motoWithListener('HTTP'), noRewrite);
    expect(code(await http.check('CreateRule', 'us-west-2', rule('https://i/keys')))).toBe('InvalidConfigurationRequest');
    // ModifyRule: the listener is found from the rule ARN.
    expect(code(await http.check('ModifyRule', 'us-west-2', rule('https://i/keys', 'RuleArn')))).toBe('InvalidConfigurationRequest');
    const listener = new URLSearchParams({
      Action: 'CreateListener',
      Protocol: 'HTTP',
      'DefaultActions.member.1.Type': 'jwt-validation',
      'DefaultActions.member.1.JwtValidationConfig.JwksEndpoint': 'https://i/keys',
    }).toString();
    expect(code(await http.check('CreateListener', 'us-west-2', listener))).toBe('InvalidConfigurationRequest');

    const https = new Elbv2Fidelity(motoWithListener('HTTPS'), noRewrite);
    expect(await https.check('CreateRule', 'us-west-2', rule('https://i/keys'))).toBeUndefined();
    const sent = new URLSearchParams(https.requestBody('CreateRule', rule('https://i/keys'))!);
    expect([...sent.keys()].filter((k) => k.startsWith('Actions.'))).toEqual([
      'Actions.member.1.Type',
      'Actions.member.1.Order',
      'Actions.member.1.TargetGroupArn',
    ]);
    expect(https.requestBody('DescribeRules', 'Action=DescribeRules')).toBeUndefined();
  });

  test('holds the action by rule ARN from the answer, lists it in DescribeRules, forgets it when a ModifyRule drops it', async () => {
    const f = new Elbv2Fidelity(motoWithListener('HTTPS'), noRewrite);
    const answer = (op: string) =>
      Buffer.from(
        `<${op}Response><${op}Result><Rules><member><RuleArn>${RULE}</RuleArn><Actions><member><Type>forward</Type><Order>2</Order></member></Actions></member></Rules></${op}Result></${op}Response>`,
      );
    const types = (b: Buffer, op: string) =>
      members(child(members(child(child(child(parseXml(b.toString()), `${op}Response`), `${op}Result`), 'Rules'))[0], 'Actions')).map((a) =>
        text(a, 'Type'),
      );
    expect(types(f.rewrite('CreateRule', 200, answer('CreateRule'), rule('https://i/keys')), 'CreateRule')).toEqual([
      'jwt-validation',
      'forward',
    ]);
    expect(f.jwtActions().get(RULE)?.jwksEndpoint).toBe('https://i/keys');
    expect(types(f.rewrite('DescribeRules', 200, answer('DescribeRules')), 'DescribeRules')).toEqual(['jwt-validation', 'forward']);
    // A failed write changes nothing.
    f.rewrite('ModifyRule', 400, answer('ModifyRule'), `RuleArn=${encodeURIComponent(RULE)}&Actions.member.1.Type=forward`);
    expect(f.jwtActions().has(RULE)).toBe(true);
    // Modify without an action list keeps it; with a list that has no jwt-validation, it is gone.
    f.rewrite('ModifyRule', 200, answer('ModifyRule'), `RuleArn=${encodeURIComponent(RULE)}&Conditions.member.1.Field=path-pattern`);
    expect(f.jwtActions().has(RULE)).toBe(true);
    f.rewrite('ModifyRule', 200, answer('ModifyRule'), `RuleArn=${encodeURIComponent(RULE)}&Actions.member.1.Type=forward`);
    expect(f.jwtActions().has(RULE)).toBe(false);
    expect(types(f.rewrite('DescribeRules', 200, answer('DescribeRules')), 'DescribeRules')).toEqual(['forward']);
  });
});

describe('SetRulePriorities (ELBv2 applies the new priorities as one change)', () => {
  const L = LISTENER;
  const rArn = (id: string) => `${L.replace(':listener/', ':listener-rule/')}/${id}`;
  /**
   * moto 5.2.5's ELBv2 as far as this call goes: DescribeRules of a listener,
   * and SetRulePriorities refusing a priority any rule holds now
   * (moto/elbv2/models.py set_rule_priorities).
   */
  function motoRules(initial: Record<string, number | 'default'>): {
    call: UpstreamCall;
    rules: Map<string, number | 'default'>;
    sets: string[];
  } {
    const rules = new Map(Object.entries(initial).map(([id, p]) => [rArn(id), p]));
    const sets: string[] = [];
    const ruleXml = (arn: string) =>
      `<member><RuleArn>${arn}</RuleArn><Priority>${rules.get(arn)}</Priority><IsDefault>${rules.get(arn) === 'default'}</IsDefault><Actions><member><Type>forward</Type><Order>2</Order></member></Actions></member>`;
    const call: UpstreamCall = async ({ body }) => {
      const form = new URLSearchParams(body);
      const action = form.get('Action');
      if (action === 'DescribeRules') {
        expect(form.get('ListenerArn')).toBe(L);
        return {
          status: 200,
          body: `<DescribeRulesResponse><DescribeRulesResult><Rules>${[...rules.keys()].map(ruleXml).join('')}</Rules></DescribeRulesResult></DescribeRulesResponse>`,
        };
      }
      if (action !== 'SetRulePriorities') throw new Error(`unexpected ${action}`);
      const pairs: [string, number][] = [];
      for (let i = 1; form.has(`RulePriorities.member.${i}.RuleArn`); i++) {
        pairs.push([form.get(`RulePriorities.member.${i}.RuleArn`)!, Number(form.get(`RulePriorities.member.${i}.Priority`))]);
      }
      sets.push(pairs.map(([a, p]) => `${a.split('/').at(-1)}=${p}`).join(','));
      if (pairs.some(([, p]) => [...rules.values()].includes(p))) {
        return {
          status: 400,
          body: '<ErrorResponse><Error><Code>PriorityInUse</Code><Message>The specified priority is in use.</Message></Error></ErrorResponse>',
        };
      }
      for (const [a, p] of pairs) rules.set(a, p);
      return {
        status: 200,
        body: `<SetRulePrioritiesResponse><SetRulePrioritiesResult><Rules>${pairs.map(([a]) => ruleXml(a)).join('')}</Rules></SetRulePrioritiesResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></SetRulePrioritiesResponse>`,
      };
    };
    return { call, rules, sets };
  }
  /** SetRulePriorities through the proxy's check, rule id → priority in the order given. */
  const setPriorities = (f: Elbv2Fidelity, priorities: Record<string, number>) =>
    f.check('SetRulePriorities', 'us-west-2', setBody(Object.entries(priorities)));
  const setBody = (pairs: [string, number][]) =>
    new URLSearchParams({
      Action: 'SetRulePriorities',
      Version: '2015-12-01',
      ...Object.fromEntries(
        pairs.flatMap(([id, p], i) => [
          [`RulePriorities.member.${i + 1}.RuleArn`, rArn(id)],
          [`RulePriorities.member.${i + 1}.Priority`, String(p)],
        ]),
      ),
    }).toString();

  test("the controller's swap (old rule to 50000, new rule to 1) succeeds in two steps, answered with the rules at their new priorities", async () => {
    const moto = motoRules({ old: 1, jwt: 2, other: 3, dflt: 'default' });
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    // The new rule's jwt-validation action, held by the proxy, is in the answer too.
    f.rewrite(
      'CreateRule',
      200,
      Buffer.from(`<R><Rules><member><RuleArn>${rArn('jwt')}</RuleArn></member></Rules></R>`),
      `Action=CreateRule&ListenerArn=${encodeURIComponent(L)}&Actions.member.1.Type=jwt-validation&Actions.member.1.Order=1&Actions.member.1.JwtValidationConfig.Issuer=https%3A%2F%2Fi&Actions.member.1.JwtValidationConfig.JwksEndpoint=https%3A%2F%2Fi%2Fkeys`,
    );
    const answer = await setPriorities(f, { old: 50000, jwt: 1 });
    expect(answer?.status).toBe(200);
    // Free priorities first, in the new relative order (jwt before old), then the asked ones.
    expect(moto.sets).toEqual(['old=49999,jwt=49998', 'old=50000,jwt=1']);
    expect(Object.fromEntries([...moto.rules].map(([a, p]) => [a.split('/').at(-1), p]))).toEqual({
      old: 50000,
      jwt: 1,
      other: 3,
      dflt: 'default',
    });
    const result = child(child(parseXml(answer!.body), 'SetRulePrioritiesResponse'), 'SetRulePrioritiesResult');
    const rules = members(child(result, 'Rules'));
    expect(rules.map((r) => [text(r, 'RuleArn'), text(r, 'Priority')])).toEqual([
      [rArn('old'), '50000'],
      [rArn('jwt'), '1'],
    ]);
    expect(members(child(rules[1], 'Actions')).map((a) => text(a, 'Type'))).toEqual(['jwt-validation', 'forward']);
    expect(answer!.headers['x-amzn-requestid']).toBe('req-1');
  });

  test('what moto takes as it is (no priority in use) goes to moto unchanged', async () => {
    const moto = motoRules({ a: 1, b: 2 });
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    expect(await setPriorities(f, { a: 10, b: 20 })).toBeUndefined();
    expect(moto.sets).toEqual([]);
  });

  test('a clash in the new order, a priority asked twice or an unknown rule: moto answers (PriorityInUse, as ELBv2)', async () => {
    const moto = motoRules({ a: 1, b: 2, c: 3 });
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    // b to 3 while c (not named) keeps 3: ELBv2 refuses too.
    expect(await setPriorities(f, { a: 2, b: 3 })).toBeUndefined();
    expect(await setPriorities(f, { a: 2, b: 2 })).toBeUndefined();
    expect(await setPriorities(f, { a: 2, zz: 1 })).toBeUndefined();
    expect(moto.sets).toEqual([]);
    expect([...moto.rules.values()]).toEqual([1, 2, 3]);
  });

  test('a rule asked for its own priority (moto refuses even that) is applied', async () => {
    const moto = motoRules({ a: 1, b: 2 });
    const f = new Elbv2Fidelity(moto.call, noRewrite);
    expect((await setPriorities(f, { a: 1, b: 5 }))?.status).toBe(200);
    expect([...moto.rules.values()]).toEqual([1, 5]);
  });

  test('gate: other ELBv2 calls wait while a SetRulePriorities runs, and do not overlap it', async () => {
    const f = new Elbv2Fidelity(motoRules({}).call, noRewrite);
    const order: string[] = [];
    let release!: () => void;
    const reading = f.gate('DescribeRules', async () => {
      order.push('read1 start');
      await new Promise<void>((r) => (release = r));
      order.push('read1 end');
    });
    const writing = f.gate('SetRulePriorities', async () => {
      order.push('set');
    });
    const later = f.gate('DescribeRules', async () => {
      order.push('read2');
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['read1 start']);
    release();
    await Promise.all([reading, writing, later]);
    expect(order).toEqual(['read1 start', 'read1 end', 'set', 'read2']);
  });
});

describe('RemoveListenerCertificates keeps the default certificate (ELBv2 keeps it apart from the list)', () => {
  const removeBody = (arns: string[]) =>
    new URLSearchParams({
      Action: 'RemoveListenerCertificates',
      ListenerArn: LISTENER,
      ...Object.fromEntries(arns.map((a, i) => [`Certificates.member.${i + 1}.CertificateArn`, a])),
    }).toString();
  /** moto with a default cert(0) and `sni`; records the removals it gets. */
  function moto(sni: string[]): { call: UpstreamCall; removed: string[][] } {
    const removed: string[][] = [];
    const base = fakeMoto({}, sni).call;
    const call: UpstreamCall = async (o) => {
      const form = new URLSearchParams(o.body);
      if (form.get('Action') !== 'RemoveListenerCertificates') return base(o);
      removed.push(requestedCertificateArns(form));
      return { status: 200, body: '<RemoveListenerCertificatesResponse/>' };
    };
    return { call, removed };
  }

  test('removing only the default: answered as success, moto not asked', async () => {
    const m = moto([cert(1)]);
    const answer = await new Elbv2Fidelity(m.call, noRewrite).check('RemoveListenerCertificates', 'us-west-2', removeBody([cert(0)]));
    expect(answer?.status).toBe(200);
    expect(answer?.body).toContain('<RemoveListenerCertificatesResponse');
    expect(m.removed).toEqual([]);
  });

  test('the default and an SNI certificate: moto removes only the SNI one', async () => {
    const m = moto([cert(1)]);
    const answer = await new Elbv2Fidelity(m.call, noRewrite).check(
      'RemoveListenerCertificates',
      'us-west-2',
      removeBody([cert(0), cert(1)]),
    );
    expect(answer?.status).toBe(200);
    expect(m.removed).toEqual([[cert(1)]]);
  });

  test('SNI certificates only: the call goes to moto unchanged', async () => {
    const m = moto([cert(1)]);
    expect(
      await new Elbv2Fidelity(m.call, noRewrite).check('RemoveListenerCertificates', 'us-west-2', removeBody([cert(1)])),
    ).toBeUndefined();
  });
});

describe('a new ALB is provisioning until the data plane serves it (ELBv2 LoadBalancerState)', () => {
  const lbXml = (names: string[]) =>
    `<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers>${names
      .map(
        (n) =>
          `<member><LoadBalancerArn>arn:${n}</LoadBalancerArn><DNSName>${n}-1.us-west-2.elb.amazonaws.com</DNSName><LoadBalancerName>${n}</LoadBalancerName><Scheme>internet-facing</Scheme><State><Code>active</Code></State><Type>application</Type><AvailabilityZones><member><ZoneName>us-west-2a</ZoneName></member></AvailabilityZones></member>`,
      )
      .join('')}</LoadBalancers></DescribeLoadBalancersResult></DescribeLoadBalancersResponse>`;
  const states = (b: Buffer) =>
    members(
      child(child(child(parseXml(b.toString()), 'DescribeLoadBalancersResponse'), 'DescribeLoadBalancersResult'), 'LoadBalancers'),
    ).map((lb) => `${text(lb, 'LoadBalancerName')}=${text(child(lb, 'State'), 'Code')}`);

  test('provisioning while its name is not served, active once it is (and from then on); others untouched', async () => {
    const f = new Elbv2Fidelity(fakeMoto({}, []).call, noRewrite);
    const served = new Set<string>();
    f.servedBy((dns) => served.has(dns));
    expect(await f.check('CreateLoadBalancer', 'us-west-2', 'Action=CreateLoadBalancer&Name=k8s-new')).toBeUndefined();
    const describe = () => f.rewrite('DescribeLoadBalancers', 200, Buffer.from(lbXml(['k8s-old', 'k8s-new'])));
    expect(states(describe())).toEqual(['k8s-old=active', 'k8s-new=provisioning']);
    const dns = text(
      members(
        child(
          child(child(parseXml(describe().toString()), 'DescribeLoadBalancersResponse'), 'DescribeLoadBalancersResult'),
          'LoadBalancers',
        ),
      )[1],
      'DNSName',
    );
    served.add(dns);
    expect(states(describe())).toEqual(['k8s-old=active', 'k8s-new=active']);
    served.clear();
    expect(states(describe())).toEqual(['k8s-old=active', 'k8s-new=active']);
  });

  test('without a data plane attached, moto’s state is kept', async () => {
    const f = new Elbv2Fidelity(fakeMoto({}, []).call, noRewrite);
    await f.check('CreateLoadBalancer', 'us-west-2', 'Action=CreateLoadBalancer&Name=k8s-new');
    expect(states(f.rewrite('DescribeLoadBalancers', 200, Buffer.from(lbXml(['k8s-new']))))).toEqual(['k8s-new=active']);
  });
});
