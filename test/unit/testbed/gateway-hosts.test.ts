/**
 * The testbed's KServe/Knative stand-in names each InferenceService's host the
 * way the cluster's settings say (testbed/lb-controller.ts inferenceServiceHosts):
 * Knative mode from config-network's domain-template over config-domain,
 * Standard mode from inferenceservice-config's ingress template.
 */
import { knativeConfigDomain, knativeConfigNetwork, kserveInferenceServiceConfig, sampleInferenceService } from '../../../testbed/cluster';
import { inferenceServiceHosts, kserveMode, type HostnameConfig } from '../../../testbed/lb-controller';
import type { KubeObject } from '../../../testbed/lib/kube';

const DOMAIN = 'platform.example.com';

function config(o: { template?: string; mode?: string; ingress?: Record<string, string> } = {}): HostnameConfig {
  const network = knativeConfigNetwork();
  if (o.template) (network.data as Record<string, string>)['domain-template'] = o.template;
  const isvcConfig = kserveInferenceServiceConfig(o.mode ?? 'Serverless');
  if (o.ingress) {
    const data = isvcConfig.data as Record<string, string>;
    data.ingress = JSON.stringify({ ...(JSON.parse(data.ingress!) as object), ...o.ingress });
  }
  return { configDomain: { ...knativeConfigDomain(), data: { [DOMAIN]: '' } }, configNetwork: network, inferenceServiceConfig: isvcConfig };
}

function annotated(mode: string): KubeObject {
  const isvc = sampleInferenceService('team-a');
  return { ...isvc, metadata: { ...isvc.metadata, annotations: { 'serving.kserve.io/deploymentMode': mode } } };
}

describe('testbed gateway: InferenceService hosts', () => {
  it("Knative mode: Knative's default template, nested", () => {
    expect(inferenceServiceHosts(sampleInferenceService('team-a'), config())).toEqual({
      mode: 'Knative',
      hosts: [`sklearn-irisv2.team-a.${DOMAIN}`],
    });
  });

  it('Knative mode with the flat domain-template', () => {
    const hosts = inferenceServiceHosts(sampleInferenceService('team-a'), config({ template: '{{.Name}}-{{.Namespace}}.{{.Domain}}' }));
    expect(hosts.hosts).toEqual([`sklearn-irisv2-team-a.${DOMAIN}`]);
  });

  it("Standard mode (cluster default, new or old name): KServe's default template and ingress domain", () => {
    for (const mode of ['Standard', 'RawDeployment']) {
      expect(inferenceServiceHosts(sampleInferenceService('team-a'), config({ mode }))).toEqual({
        mode: 'Standard',
        hosts: ['sklearn-irisv2-team-a.example.com'],
      });
    }
  });

  it('Standard mode with a nested template and our domain; the annotation wins over the default', () => {
    const cfg = config({
      mode: 'Serverless',
      ingress: { domainTemplate: '{{ .Name }}.{{ .Namespace }}.{{ .IngressDomain }}', ingressDomain: DOMAIN },
    });
    expect(inferenceServiceHosts(annotated('RawDeployment'), cfg).hosts).toEqual([`sklearn-irisv2.team-a.${DOMAIN}`]);
    expect(inferenceServiceHosts(annotated('Knative'), config({ mode: 'Standard' })).mode).toBe('Knative');
  });

  it('mode names', () => {
    expect([kserveMode('Serverless'), kserveMode('knative'), kserveMode('RawDeployment'), kserveMode('ModelMesh')]).toEqual([
      'Knative',
      'Knative',
      'Standard',
      undefined,
    ]);
  });
});
