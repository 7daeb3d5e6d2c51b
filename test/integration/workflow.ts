/**
 * Helpers for the end-to-end tests: run the real state machine with the
 * packaged functions, each in processes of its own (`lambdas.ts`), against a
 * started testbed, and look at the results the way a user would (AWS APIs,
 * the Kubernetes API, an HTTPS request).
 */
import https from 'node:https';
import {
  ACMClient,
  type CertificateDetail,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { loadDefinition } from '../../local/definition';
import { runStateMachine, type RunResult } from '../../local/run';
import { resetClients } from '../../wiring/clients';
import { lambdasFor } from './lambdas';

/**
 * Puts process.env back as `saved` (a copy taken before the suite applied the
 * testbed's environment): drops what was added, restores what was changed,
 * and resets the SDK clients made from it.
 */
export function restoreEnv(saved: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
  resetClients();
}

/** Runs `definitionPath` (default provision.asl.json), each Task in its packaged function, with the testbed's environment. */
export async function provisionWith(
  env: Record<string, string>,
  input: unknown,
  name: string,
  definitionPath = 'statemachine/provision.asl.json',
): Promise<RunResult> {
  const lambdas = lambdasFor({ ...env, LOG_LEVEL: process.env.KSERVE_EDGE_TEST_LOG_LEVEL ?? 'silent' });
  return runStateMachine({
    definition: loadDefinition(definitionPath),
    handlers: lambdas.taskHandlers(definitionPath),
    input,
    executionName: name,
    // The real schedule, ten times faster: the testbed issues certificates in seconds.
    waitSeconds: 0.1,
    retryIntervalMs: 500,
  });
}

export function awsFor(motoUrl: string, region: string) {
  const cfg = { endpoint: motoUrl, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  return {
    acm: new ACMClient(cfg),
    tagging: new ResourceGroupsTaggingAPIClient(cfg),
    route53: new Route53Client({ ...cfg, region: 'us-east-1' }),
  };
}

export interface CertView {
  arn: string;
  domainName: string;
  names: string[];
  status: string;
  tags: Record<string, string>;
}

export async function listCertificates(acm: ACMClient): Promise<CertView[]> {
  const list = await acm.send(new ListCertificatesCommand({}));
  const out: CertView[] = [];
  for (const s of list.CertificateSummaryList ?? []) {
    const arn = s.CertificateArn ?? '';
    let d: CertificateDetail | undefined;
    let t: { Tags?: Array<{ Key?: string; Value?: string }> };
    try {
      d = (await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
      t = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
    } catch (err) {
      // Deleted between the listing and this read (a run deleting a superseded bundle while a test loop looks): gone.
      if ((err as Error).name === 'ResourceNotFoundException') continue;
      throw err;
    }
    out.push({
      arn,
      domainName: d?.DomainName ?? '',
      names: d?.SubjectAlternativeNames ?? [],
      status: d?.Status ?? '',
      tags: Object.fromEntries((t.Tags ?? []).map((x) => [x.Key ?? '', x.Value ?? ''])),
    });
  }
  return out;
}

export interface RecordView {
  name: string;
  type: string;
  values: string[];
  alias?: string;
}

export async function listRecords(route53: Route53Client, zoneId: string): Promise<RecordView[]> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (out.ResourceRecordSets ?? []).map((r) => ({
    name: (r.Name ?? '').replace(/\\052/g, '*').replace(/\.$/, ''),
    type: r.Type ?? '',
    values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
    ...(r.AliasTarget?.DNSName ? { alias: r.AliasTarget.DNSName } : {}),
  }));
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTPS request to `host` through the testbed ALB at 127.0.0.1:port. The
 * certificate is verified against `ca` for `host` (SNI), as a client would.
 */
export function httpsTo(opts: {
  port: number;
  host: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  ca: string;
}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: opts.port,
        servername: opts.host,
        path: opts.path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host, ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        ca: opts.ca,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

/** Our bundle certificates (scope `bundle`, certificates.mode "bundled") and the namespaces each names, oldest first. */
export async function listBundles(acm: ACMClient, domain: string): Promise<Array<CertView & { namespaces: string[] }>> {
  const suffix = `.${domain}`;
  return (await listCertificates(acm))
    .filter((c) => c.tags['kserve-edge:scope'] === 'bundle' && c.tags['kserve-edge:domain'] === domain)
    .map((c) => ({
      ...c,
      namespaces: [...new Set([c.domainName, ...c.names])]
        .filter((n) => n.startsWith('*.') && n.endsWith(suffix))
        .map((n) => n.slice(2, -suffix.length))
        .sort(),
    }));
}
