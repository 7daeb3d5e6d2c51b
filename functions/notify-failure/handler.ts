import { snsClient } from '../../shared/aws/clients';
import { SnsNotifier } from '../../shared/aws/sns';
import { lambdaHandler } from '../../shared/handler';
import { notifyFailure, type FailureInput } from '../../shared/steps/notifyFailure';

/** Without KSERVE_EDGE_SNS_TOPIC_ARN (local runs) the failure is only logged. */
export const handler = lambdaHandler('NotifyFailure', async (event, { log }) => {
  const topic = process.env.KSERVE_EDGE_SNS_TOPIC_ARN;
  const region = topic?.split(':')[3] || process.env.AWS_REGION || 'us-east-1';
  return notifyFailure((event ?? {}) as FailureInput, { ...(topic ? { notify: new SnsNotifier(snsClient(region), topic) } : {}), log });
});
