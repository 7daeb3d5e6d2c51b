import { edgeHandler } from '../../wiring/handler';
import { snsClient } from '../../wiring/clients';
import { SnsNotifier } from '../../shared/aws/sns';
import { notifyFailure, type FailureInput } from '../../shared/steps/notifyFailure';

/** Without KSERVE_EDGE_SNS_TOPIC_ARN (local runs) the failure is only logged. */
export const handler = edgeHandler('NotifyFailure', async (event, { config, log }) => {
  const topic = config.snsTopicArn;
  const region = topic?.split(':')[3] || config.region || 'us-east-1';
  return notifyFailure((event ?? {}) as FailureInput, {
    ...(topic ? { notify: new SnsNotifier(snsClient(config, region), topic) } : {}),
    log,
  });
});
