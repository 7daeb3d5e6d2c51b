/**
 * Records notifications instead of sending them. Applies the same subject
 * rules as the SNS adapter, so a test sees what a subscriber would see.
 */
import { snsSubject } from '../../shared/aws/sns';
import { redactString } from '../../shared/log';
import type { NotifyPort } from '../../shared/ports';
import { FailureQueue } from './awsError';

/** In-memory {@link NotifyPort}. */
export class FakeNotify implements NotifyPort {
  readonly messages: Array<{ subject: string; message: string }> = [];
  readonly failures = new FailureQueue();

  async publish(subject: string, message: string): Promise<void> {
    this.failures.check('publish');
    this.messages.push({ subject: snsSubject(redactString(subject)), message: redactString(message) });
  }
}
