import { edgeHandler } from '../../wiring/handler';
import { decodeLogsEvent, namespaceEventsFromAudit } from '../../shared/plan/namespaceEvents';
import { handleNamespaceEvents } from '../../shared/steps/reconcileNamespaces';
import { lifecycleDeps, requestTemplate } from '../../wiring/lifecycle';

/**
 * NamespaceEvents (CloudWatch Logs subscription on the EKS audit log): a
 * namespace or Kubeflow Profile was created or deleted; start the run it
 * needs under a deterministic name, so a duplicate is refused by Step Functions.
 */
export const handler = edgeHandler('NamespaceEvents', async (event, ctx) => {
  const events = namespaceEventsFromAudit(decodeLogsEvent(event));
  if (events.length === 0) return { desired: [], inSync: [], runs: [], ignored: [] };
  const template = await requestTemplate(ctx.config);
  return handleNamespaceEvents({ template, events }, await lifecycleDeps(ctx.config, template, ctx));
});
