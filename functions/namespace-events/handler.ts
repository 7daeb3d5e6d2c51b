import { edgeHandler } from '../../wiring/handler';
import { publishAuditEventsUnparsed } from '../../shared/lifecycleMetrics';
import { decodeLogsEvent, parseAuditPayload } from '../../shared/plan/namespaceEvents';
import { handleNamespaceEvents, reportUnparsedAuditMessages } from '../../shared/steps/reconcileNamespaces';
import { lifecycleDeps, requestTemplate } from '../../wiring/lifecycle';

/**
 * NamespaceEvents (CloudWatch Logs subscription on the EKS audit log): a
 * namespace or Kubeflow Profile was created or deleted; start the run it
 * needs under a deterministic name, so a duplicate is refused by Step Functions.
 * Messages that cannot be parsed are logged with their id and counted
 * (`AuditEventsUnparsed`, alarmed) before the others are acted on.
 */
export const handler = edgeHandler('NamespaceEvents', async (event, ctx) => {
  const { events, unparsed } = parseAuditPayload(decodeLogsEvent(event));
  reportUnparsedAuditMessages(unparsed, {
    log: ctx.log,
    count: (n) => publishAuditEventsUnparsed(n, { namespace: ctx.config.canary.metricsNamespace }),
  });
  if (events.length === 0) return { desired: [], inSync: [], runs: [], ignored: [] };
  const template = await requestTemplate(ctx.config);
  return handleNamespaceEvents({ template, events }, await lifecycleDeps(ctx.config, template, ctx));
});
