/**
 * npm run demo: the whole workflow against the local testbed, shown as a user
 * would see it, then a real inference request through the ALB, then clean-up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestbed } from '../testbed/testbed';
import { provision } from '../cli/provision';
import { IRIS_INPUT } from '../shared/request';
import { httpsTo } from '../test/integration/workflow';

const DOMAIN = 'platform.example.com';
const REGION = 'us-west-2';
const NAMESPACES = ['staging', 'prod'];
const out = (t: string) => process.stdout.write(t);

async function main(): Promise<number> {
  out('Starting the testbed: moto (AWS), etcd + kube-apiserver, the load-balancer stand-in, nginx, MLServer…\n');
  // The demo runs the handlers in-process with the testbed's own key, which IAM enforcement would not
  // evaluate: no packaged template needed.
  const tb = await startTestbed({
    authProvider: 'cognito',
    domain: DOMAIN,
    namespaces: NAMESPACES,
    clusterName: 'kubeflow',
    region: REGION,
    iam: false,
  });
  const stop = async () => {
    await tb.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    out(`Testbed up in ${(tb.timings.total ?? 0) / 1000}s; logs in ${tb.logDir}\n\n`);
    const request = {
      domain: DOMAIN,
      cluster: { name: 'kubeflow', region: REGION },
      namespaces: NAMESPACES,
      auth: { provider: 'cognito', headerName: 'x-api-key', headerValuesSecretId: tb.secrets.apiTokensSecretId },
      certificates: { mode: 'per-namespace' },
      canary: { model: 'sklearn-irisv2', expected: { outputName: 'predict', data: [1, 1] } },
    };
    mkdirSync(join(tb.runDir, '..'), { recursive: true });
    const file = join(process.cwd(), '.testbed', 'demo-request.json');
    writeFileSync(file, JSON.stringify(request, null, 2));
    out(`Request (${file}):\n${JSON.stringify(request, null, 2)}\n\n`);
    out('$ kserve-edge provision --request .testbed/demo-request.json --wait-scale 0.1\n');
    Object.assign(process.env, tb.env, { LOG_LEVEL: 'silent' });
    const code = await provision(request, {
      io: { out, err: (t) => process.stderr.write(t), env: process.env },
      json: false,
      waitScale: 0.1,
    });
    if (code !== 0) return code;

    const info = await tb.lb.waitForAlb('istio-system', 'istio-ingress-api');
    const port = Number(info.listeners['443']?.split(':')[1]);
    const host = `sklearn-irisv2.staging.${DOMAIN}`;
    const path = '/v2/models/sklearn-irisv2/infer';
    out(`\nThe canary's request, by hand (the ALB ${info.hostname} listens on 127.0.0.1:${port} here):\n`);
    out(`  POST https://${host}${path}\n  x-api-key: ***\n  ${JSON.stringify(IRIS_INPUT)}\n`);
    const res = await httpsTo({
      port,
      host,
      path,
      method: 'POST',
      body: JSON.stringify(IRIS_INPUT),
      ca: tb.caPem,
      headers: { 'x-api-key': tb.secrets.apiTokens[0]! },
    });
    out(`  → HTTP ${res.status} ${res.body}\n`);
    const denied = await httpsTo({ port, host, path, method: 'POST', body: JSON.stringify(IRIS_INPUT), ca: tb.caPem });
    out(`  without the header → HTTP ${denied.status} ${denied.body.trim()}\n`);
    return res.status === 200 ? 0 : 1;
  } finally {
    out('\nStopping the testbed…\n');
    await stop();
    out(`stopped; no process left (${tb.pids().length} alive)\n`);
  }
}

process.exitCode = await main();
