import { edgeHandler } from '../../wiring/handler';
import { sweepNamespaces } from '../../shared/steps/reconcileNamespaces';
import { lifecycleDeps, requestTemplate } from '../../wiring/lifecycle';

/**
 * Sweep (EventBridge schedule): lists the cluster's profile namespaces and
 * starts provisioning for those the ownership records and certificate tags do
 * not show as provisioned, and deprovisioning for namespaces that are gone.
 */
export const handler = edgeHandler('Sweep', async (_event, ctx) => {
  const template = await requestTemplate(ctx.config);
  return sweepNamespaces({ template }, await lifecycleDeps(ctx.config, template, ctx));
});
