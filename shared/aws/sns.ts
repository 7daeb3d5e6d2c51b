/**
 * SNS notifier: how NotifyFailure and the canary page someone.
 */
import { type SNSClient, PublishCommand } from '@aws-sdk/client-sns';
import { redactString } from '../log';
import type { NotifyPort } from '../ports';
import { withAws } from './errors';

/** SNS rejects subjects over 100 characters. */
export const MAX_SUBJECT = 100;
/** SNS's message limit is 256 KiB; leave room for the envelope email/HTTP subscribers get. */
export const MAX_MESSAGE_BYTES = 250 * 1024;

/**
 * Makes a string SNS accepts as `Subject`: printable ASCII only (no line
 * breaks or control characters), at most 100 characters, never empty.
 *
 * @example
 *   snsSubject('kserve-edge: CanaryFailed — team-a\n') // 'kserve-edge: CanaryFailed - team-a'
 */
export function snsSubject(subject: string): string {
  const ascii = subject
    .normalize('NFKD')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[\u0300-\u036f]/g, '') // combining marks left by NFKD: é → e
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/gu, '?')
    .replace(/\s{2,}/g, ' ')
    .trim();
  const text = ascii === '' ? 'kserve-edge notification' : ascii;
  return text.length <= MAX_SUBJECT ? text : `${text.slice(0, MAX_SUBJECT - 3)}...`;
}

function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const buf = Buffer.from(text, 'utf8').subarray(0, max - 32);
  // Decoding may leave a broken last character as U+FFFD; that is acceptable in a truncated notice.
  return `${buf.toString('utf8')}\n[truncated]`;
}

/**
 * {@link NotifyPort} that publishes to one SNS topic. Subject and message are
 * redacted first: a notification is a log line that leaves the account.
 *
 * @example
 *   await new SnsNotifier(snsClient('us-west-2'), topicArn).publish('kserve-edge: CertificateTimeout', details);
 */
export class SnsNotifier implements NotifyPort {
  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {
    if (!topicArn.startsWith('arn:')) throw new TypeError(`SNS topic must be an ARN, got "${topicArn}"`);
  }

  async publish(subject: string, message: string): Promise<void> {
    await withAws('sns:Publish', () =>
      this.client.send(
        new PublishCommand({
          TopicArn: this.topicArn,
          Subject: snsSubject(redactString(subject)),
          Message: truncateBytes(redactString(message) || '(no details)', MAX_MESSAGE_BYTES),
        }),
      ),
    );
  }
}
