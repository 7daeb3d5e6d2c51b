/**
 * The canary's CloudWatch dashboard body, built when serverless.yml is
 * resolved (offline, at package time): `${file(deploy/canary-dashboard.cjs)}`.
 *
 * - Row 1: success, latency p90 and days to certificate expiry of every
 *   endpoint, found by a SEARCH expression, so namespaces added later show up
 *   without a redeploy.
 * - Row 2: failures by kind (the CanaryFailure metric, dimension FailureKind).
 * - Then one row per endpoint listed in the `canaryEndpoints` param
 *   (`namespace=host,namespace=host`), with its own three graphs, so the
 *   template is static and each endpoint has a named place on the dashboard.
 *
 * The result is a string for `Fn::Sub` (only `${AWS::Region}` is substituted).
 */
/* global module */
'use strict';

const NS = 'kserve-edge';
const SERVICE = 'kserve-edge-canary';

/** `a=h1,b=h2` → [{ namespace: 'a', host: 'h1' }, ...]; whitespace and empty entries ignored. */
function parseEndpoints(text) {
  return String(text || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf('=');
      if (eq <= 0 || eq === entry.length - 1) throw new Error(`canaryEndpoints: "${entry}" is not namespace=host`);
      return { namespace: entry.slice(0, eq), host: entry.slice(eq + 1) };
    });
}

function search(metric, stat) {
  return `SEARCH('{${NS},Host,Namespace,service} MetricName="${metric}" service="${SERVICE}"', '${stat}', 300)`;
}

function searchWidget(title, metric, stat, x, y, extra = {}) {
  return {
    type: 'metric',
    x,
    y,
    width: 8,
    height: 6,
    properties: {
      title,
      region: '${AWS::Region}',
      view: 'timeSeries',
      stat,
      period: 300,
      metrics: [[{ expression: search(metric, stat), id: 'e1', label: '' }]],
      ...extra,
    },
  };
}

function endpointWidget(ep, title, metric, stat, x, y, extra = {}) {
  return {
    type: 'metric',
    x,
    y,
    width: 8,
    height: 5,
    properties: {
      title: `${ep.namespace}: ${title}`,
      region: '${AWS::Region}',
      view: 'timeSeries',
      stat,
      period: 300,
      metrics: [[NS, metric, 'service', SERVICE, 'Namespace', ep.namespace, 'Host', ep.host, { label: ep.host }]],
      ...extra,
    },
  };
}

/** The dashboard body for a list of endpoints (exported for tests). */
function dashboardBody(endpoints) {
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown:
          '## kserve-edge inference canary\nEvery endpoint, every 5 minutes (param `canaryRate`): 1 = the V2 inference answered as expected. Failures by layer below; alarms on the alerts topic.',
      },
    },
    searchWidget('Success (every endpoint)', 'CanarySuccess', 'Minimum', 0, 2, { yAxis: { left: { min: 0, max: 1 } } }),
    searchWidget('Latency p90 ms (every endpoint)', 'CanaryLatency', 'p90', 8, 2),
    searchWidget('Days to certificate expiry (every endpoint)', 'CertificateDaysToExpiry', 'Minimum', 16, 2, {
      annotations: { horizontal: [{ label: 'alarm', value: 14 }] },
    }),
    {
      type: 'metric',
      x: 0,
      y: 8,
      width: 24,
      height: 5,
      properties: {
        title: 'Failures by kind (dns, tls, auth, http, protocol, prediction, timeout)',
        region: '${AWS::Region}',
        view: 'bar',
        stat: 'Sum',
        period: 300,
        metrics: [
          [
            {
              expression: `SEARCH('{${NS},FailureKind,Host,Namespace,service} MetricName="CanaryFailure" service="${SERVICE}"', 'Sum', 300)`,
              id: 'f1',
              label: '',
            },
          ],
        ],
      },
    },
  ];
  endpoints.forEach((ep, i) => {
    const y = 13 + i * 5;
    widgets.push(endpointWidget(ep, 'success', 'CanarySuccess', 'Minimum', 0, y, { yAxis: { left: { min: 0, max: 1 } } }));
    widgets.push(endpointWidget(ep, 'latency p90 (ms)', 'CanaryLatency', 'p90', 8, y));
    widgets.push(endpointWidget(ep, 'days to certificate expiry', 'CertificateDaysToExpiry', 'Minimum', 16, y));
  });
  return JSON.stringify({ widgets });
}

module.exports = async ({ resolveVariable }) => {
  const endpoints = parseEndpoints(await resolveVariable('param:canaryEndpoints'));
  return dashboardBody(endpoints);
};
module.exports.dashboardBody = dashboardBody;
module.exports.parseEndpoints = parseEndpoints;
