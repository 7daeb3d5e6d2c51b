import { lambdaHandler } from '../../shared/handler';
import { lifecycleDepsFromEnv, requestTemplateFromEnv } from '../../shared/lifecycleEnv';
import { sweepNamespaces } from '../../shared/steps/reconcileNamespaces';

/**
 * Sweep (EventBridge schedule): lists the cluster's profile namespaces and
 * starts provisioning for those the ownership records and certificate tags do
 * not show as provisioned, and deprovisioning for namespaces that are gone.
 */
export const handler = lambdaHandler('Sweep', async (_event, ctx) => {
  const template = await requestTemplateFromEnv();
  return sweepNamespaces({ template }, await lifecycleDepsFromEnv(template, ctx));
});
