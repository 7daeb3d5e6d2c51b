/**
 * The real AWS Load Balancer Controller (`sigs.k8s.io/aws-load-balancer-controller`,
 * built by `build-binaries.sh`), run out of cluster against the testbed's
 * kube-apiserver, with its AWS calls going to moto through the AWS proxy
 * ({@link FaultProxy} with `elbv2Fidelity`).
 *
 * What it gets, as an EKS install with the Helm chart would give it:
 *  - Kubernetes: the module's CRDs (`config/crd/bases`), its ClusterRole
 *    (`config/rbac/role.yaml`) bound to the ServiceAccount
 *    `kube-system/aws-load-balancer-controller`, whose token (TokenRequest) is
 *    all its kubeconfig holds; the IngressClass `alb`
 *    (`spec.controller: ingress.k8s.aws/alb`); its validating webhooks
 *    (`config/webhook/manifests.yaml`) registered with the API server at
 *    `https://127.0.0.1:<port>` and the testbed CA, so what the controller's
 *    webhook refuses (an Ingress with invalid `conditions.*` JSON, ...) is
 *    refused on create/update. Its mutating webhooks (pods, services,
 *    TargetGroupBindings) are not registered: the testbed runs no pods.
 *  - AWS (moto): a VPC with an internet gateway and route table, two public
 *    subnets (`kubernetes.io/role/elb=1`) and two private ones
 *    (`kubernetes.io/role/internal-elb=1`) in two AZs, all tagged
 *    `kubernetes.io/cluster/<name>=shared`.
 *
 * The webhook server has no bind-address flag and listens on every interface,
 * on a random port; nothing outside the machine is expected to reach it.
 */
import yaml from 'js-yaml';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { queryCall, child, text } from './lib/aws-query';
import { type KubeClient, type KubeObject } from './lib/kube';
import { freePort, httpRequest, LOOPBACK, waitFor } from './lib/net';
import type { CertFiles, Pki } from './lib/pki';
import type { ManagedProcess, ProcessSupervisor } from './lib/proc';
import { bindServiceAccount, writeServiceAccountKubeconfig } from './lib/service-account';

export const LBC_NAMESPACE = 'kube-system';
export const LBC_SERVICE_ACCOUNT = 'aws-load-balancer-controller';
export const LBC_CLUSTER_ROLE = 'aws-load-balancer-controller-role';
export const LBC_WEBHOOK_CONFIGURATION = 'aws-load-balancer-webhook';
/** The IngressClass the controller serves (and `kubernetes.io/ingress.class: alb`, which it still accepts). */
export const INGRESS_CLASS = 'alb';
export const INGRESS_CLASS_CONTROLLER = 'ingress.k8s.aws/alb';

const EC2_VERSION = '2016-11-15';

export interface SeededNetwork {
  vpcId: string;
  publicSubnetIds: string[];
  privateSubnetIds: string[];
}

/** Creates the VPC, internet gateway, route table and tagged subnets the controller discovers. */
export async function seedNetwork(endpoint: string, region: string, clusterName: string): Promise<SeededNetwork> {
  const ec2 = (action: string, params: Record<string, unknown> = {}) =>
    queryCall({ endpoint, service: 'ec2', region, version: EC2_VERSION, action, params });
  const vpcId = text(child(await ec2('CreateVpc', { CidrBlock: '10.0.0.0/16' }), 'vpc'), 'vpcId');
  const igwId = text(child(await ec2('CreateInternetGateway'), 'internetGateway'), 'internetGatewayId');
  await ec2('AttachInternetGateway', { InternetGatewayId: igwId, VpcId: vpcId });
  const rtbId = text(child(await ec2('CreateRouteTable', { VpcId: vpcId }), 'routeTable'), 'routeTableId');
  await ec2('CreateRoute', { RouteTableId: rtbId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId });
  const subnet = async (cidr: string, az: string) =>
    text(child(await ec2('CreateSubnet', { VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az }), 'subnet'), 'subnetId');
  const publicSubnetIds = [await subnet('10.0.0.0/20', `${region}a`), await subnet('10.0.16.0/20', `${region}b`)];
  const privateSubnetIds = [await subnet('10.0.128.0/20', `${region}a`), await subnet('10.0.144.0/20', `${region}b`)];
  for (const id of publicSubnetIds) await ec2('AssociateRouteTable', { RouteTableId: rtbId, SubnetId: id });
  const clusterTag = { Key: `kubernetes.io/cluster/${clusterName}`, Value: 'shared' };
  await ec2('CreateTags', { ResourceId: publicSubnetIds, Tag: [{ Key: 'kubernetes.io/role/elb', Value: '1' }, clusterTag] });
  await ec2('CreateTags', { ResourceId: privateSubnetIds, Tag: [{ Key: 'kubernetes.io/role/internal-elb', Value: '1' }, clusterTag] });
  await ec2('CreateTags', { ResourceId: [vpcId], Tag: [{ Key: 'Name', Value: `eksctl-${clusterName}-cluster/VPC` }] });
  return { vpcId, publicSubnetIds, privateSubnetIds };
}

/** Plain YAML (client-node's loadAllYaml would rename keys such as `enum` and `x-kubernetes-*`). */
function yamlDocs(file: string): KubeObject[] {
  return (yaml.loadAll(readFileSync(file, 'utf8')) as Array<KubeObject | null>).filter(
    (d): d is KubeObject => !!d && typeof d === 'object' && 'kind' in d,
  );
}

/** The controller's manifests as the module ships them (copied beside the binary by build-binaries.sh). */
export function lbcManifests(configDir: string): { crds: KubeObject[]; clusterRole: KubeObject; validatingWebhooks: KubeObject } {
  const crdDir = join(configDir, 'crd', 'bases');
  if (!existsSync(crdDir)) throw new Error(`${crdDir} not found: run scripts/setup-testbed.sh`);
  const crds = readdirSync(crdDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => yamlDocs(join(crdDir, f)));
  const clusterRole = yamlDocs(join(configDir, 'rbac', 'role.yaml')).find((d) => d.kind === 'ClusterRole');
  const validatingWebhooks = yamlDocs(join(configDir, 'webhook', 'manifests.yaml')).find(
    (d) => d.kind === 'ValidatingWebhookConfiguration',
  );
  if (!clusterRole || !validatingWebhooks) throw new Error(`${configDir}: no ClusterRole or ValidatingWebhookConfiguration`);
  return { crds, clusterRole, validatingWebhooks };
}

const MANAGER = 'testbed-admin';

async function waitCrdsEstablished(kube: KubeClient, crds: KubeObject[]): Promise<void> {
  await Promise.all(
    crds.map((c) =>
      waitFor(
        async () => {
          const got = await kube.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, c.metadata.name);
          const conds = (got?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
          return conds.some((x) => x.type === 'Established' && x.status === 'True');
        },
        { what: `CRD ${c.metadata.name} Established`, timeoutMs: 30_000, intervalMs: 100 },
      ),
    ),
  );
}

/**
 * CRDs, RBAC, ServiceAccount, IngressClass; returns a kubeconfig file holding
 * only the ServiceAccount's token.
 */
export async function installLbcKubernetes(
  admin: KubeClient,
  o: { configDir: string; dir: string; server: string; clusterCaPem: string },
): Promise<{ kubeconfigFile: string }> {
  const { crds, clusterRole } = lbcManifests(o.configDir);
  await Promise.all(crds.map((c) => admin.apply(c, { fieldManager: MANAGER, force: true })));
  const role: KubeObject = {
    ...clusterRole,
    metadata: { name: LBC_CLUSTER_ROLE, labels: { 'app.kubernetes.io/name': LBC_SERVICE_ACCOUNT } },
  };
  await admin.apply(role, { fieldManager: MANAGER, force: true });
  const sa = { namespace: LBC_NAMESPACE, name: LBC_SERVICE_ACCOUNT };
  await bindServiceAccount(admin, { ...sa, clusterRole: LBC_CLUSTER_ROLE, binding: `${LBC_SERVICE_ACCOUNT}-rolebinding` });
  await admin.apply(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: INGRESS_CLASS, labels: { 'app.kubernetes.io/name': LBC_SERVICE_ACCOUNT } },
      spec: { controller: INGRESS_CLASS_CONTROLLER },
    },
    { fieldManager: MANAGER, force: true },
  );
  await waitCrdsEstablished(admin, crds);

  const kubeconfigFile = join(o.dir, 'lbc.kubeconfig');
  await writeServiceAccountKubeconfig(admin, sa, { server: o.server, clusterCaPem: o.clusterCaPem, file: kubeconfigFile });
  return { kubeconfigFile };
}

/** Registers the module's validating webhooks at `https://127.0.0.1:<port><path>`, trusting `caPem`. */
export async function registerLbcWebhooks(admin: KubeClient, o: { configDir: string; port: number; caPem: string }): Promise<void> {
  const { validatingWebhooks } = lbcManifests(o.configDir);
  const hooks = (validatingWebhooks.webhooks as Array<Record<string, unknown> & { clientConfig: { service?: { path?: string } } }>).map(
    (h) => ({
      ...h,
      clientConfig: {
        url: `https://${LOOPBACK}:${o.port}${h.clientConfig.service?.path ?? '/'}`,
        caBundle: Buffer.from(o.caPem).toString('base64'),
      },
    }),
  );
  await admin.apply(
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: LBC_WEBHOOK_CONFIGURATION, labels: { 'app.kubernetes.io/name': LBC_SERVICE_ACCOUNT } },
      webhooks: hooks,
    },
    { fieldManager: MANAGER, force: true },
  );
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: LOOPBACK, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

export interface RunningLbc {
  proc: ManagedProcess;
  webhookPort: number;
  healthUrl: string;
  metricsUrl: string;
  network: SeededNetwork;
}

/**
 * Seeds the network, installs the Kubernetes side, starts the controller and
 * waits until it is ready, then registers its webhooks.
 */
export async function startAwsLbController(o: {
  supervisor: ProcessSupervisor;
  binary: string;
  configDir: string;
  admin: KubeClient;
  server: string;
  clusterCaPem: string;
  pki: Pki;
  /** Signs the webhook's serving certificate; the API server trusts it for the webhook. */
  ca: CertFiles;
  runDir: string;
  /** The AWS proxy in front of moto. */
  awsEndpoint: string;
  region: string;
  clusterName: string;
}): Promise<RunningLbc> {
  const dir = join(o.runDir, 'aws-load-balancer-controller');
  mkdirSync(dir, { recursive: true });
  // The webhook's serving certificate lands in `dir` as webhook.crt / webhook.key.
  const [network, { kubeconfigFile }] = await Promise.all([
    seedNetwork(o.awsEndpoint, o.region, o.clusterName),
    installLbcKubernetes(o.admin, { configDir: o.configDir, dir, server: o.server, clusterCaPem: o.clusterCaPem }),
    o.pki.issueLeaf(o.ca, dir, 'webhook', { commonName: 'aws-load-balancer-webhook', ips: [LOOPBACK], days: 30 }),
  ]);
  const [webhookPort, healthPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const u = o.awsEndpoint;
  // Keys are the SDK ServiceIDs. Services the testbed switches off still get
  // the proxy, so nothing ever leaves the machine.
  const endpoints = [
    'EC2',
    'Elastic Load Balancing v2',
    'ACM',
    'STS',
    'Resource Groups Tagging API',
    'WAFV2',
    'WAF Regional',
    'Shield',
    'Global Accelerator',
  ]
    .map((id) => `${id}=${u}`)
    .join(',');
  const proc = o.supervisor.start(
    'aws-load-balancer-controller',
    o.binary,
    [
      `--kubeconfig=${kubeconfigFile}`,
      `--cluster-name=${o.clusterName}`,
      `--aws-region=${o.region}`,
      `--aws-vpc-id=${network.vpcId}`,
      `--aws-api-endpoints=${endpoints}`,
      '--aws-max-retries=2',
      '--enable-waf=false',
      '--enable-wafv2=false',
      '--enable-shield=false',
      '--enable-leader-election=false',
      // A new ALB is `provisioning` until the testbed's data plane serves it (elbv2-fidelity.ts), which
      // takes well under a second here; the controller re-checks a provisioning ALB after this interval
      // (pkg/deploy/elbv2/load_balancer_synthesizer.go PostSynthesize; default 120 s, sized for real
      // ALBs, which provision in minutes).
      '--lb-stabilization-monitor-interval=2s',
      `--ingress-class=${INGRESS_CLASS}`,
      `--webhook-cert-dir=${dir}`,
      '--webhook-cert-file=webhook.crt',
      '--webhook-key-file=webhook.key',
      `--webhook-bind-port=${webhookPort}`,
      `--metrics-bind-addr=${LOOPBACK}:${metricsPort}`,
      `--health-probe-bind-addr=${LOOPBACK}:${healthPort}`,
    ],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dir,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: o.region,
      },
    },
  );
  const healthUrl = `http://${LOOPBACK}:${healthPort}`;
  await waitFor(
    async () => (await httpRequest(`${healthUrl}/readyz`, { timeoutMs: 1000 })).status === 200 && (await tcpOpen(webhookPort)),
    { what: 'aws-load-balancer-controller /readyz and webhook port', timeoutMs: 60_000, intervalMs: 150, proc },
  );
  await registerLbcWebhooks(o.admin, { configDir: o.configDir, port: webhookPort, caPem: o.ca.certPem });
  return { proc, webhookPort, healthUrl, metricsUrl: `http://${LOOPBACK}:${metricsPort}`, network };
}
