import { lambdaHandler } from '../../shared/handler';
import { lifecycleDepsFromEnv, requestTemplateFromEnv } from '../../shared/lifecycleEnv';
import { decodeLogsEvent, namespaceEventsFromAudit } from '../../shared/plan/namespaceEvents';
import { handleNamespaceEvents } from '../../shared/steps/reconcileNamespaces';

/**
 * NamespaceEvents (CloudWatch Logs subscription on the EKS audit log): a
 * namespace or Kubeflow Profile was created or deleted; start the run it
 * needs under a deterministic name, so a duplicate is refused by Step Functions.
 */
export const handler = lambdaHandler('NamespaceEvents', async (event, ctx) => {
  const events = namespaceEventsFromAudit(decodeLogsEvent(event));
  if (events.length === 0) return { desired: [], inSync: [], runs: [], ignored: [] };
  const template = await requestTemplateFromEnv();
  return handleNamespaceEvents({ template, events }, await lifecycleDepsFromEnv(template, ctx));
});
