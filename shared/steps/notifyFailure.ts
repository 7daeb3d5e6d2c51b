/**
 * NotifyFailure: tells the on-call channel (SNS) that a run failed, with the
 * error name, a readable message and the runbook anchor. Secrets are redacted
 * and the message never carries stack traces.
 */
import { ERROR_NAMES } from '../errors';
import type { Logger } from '../log';
import { redactString } from '../log';
import type { NotifyPort } from '../ports';

export interface FailureInput {
  error?: { Error?: string; Cause?: string };
  executionId?: string;
  state?: { request?: { domain?: string; namespaces?: string[]; ownerId?: string }; domain?: string; namespaces?: string[] };
}

export interface FailureSummary {
  error: string;
  message: string;
  runbook: string;
  executionId: string;
  domain: string;
  namespaces: string[];
}

/** The message of a Lambda error Cause (`{"errorType","errorMessage","trace"}`) or the Cause itself. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: a States.* error's plain text cause
  }
  return cause;
}

export function summarizeFailure(input: FailureInput): FailureSummary {
  const error = input.error?.Error ?? 'ProvisioningFailed';
  const req = input.state?.request ?? input.state ?? {};
  return {
    error,
    message: redactString(causeMessage(input.error?.Cause)).slice(0, 2000),
    // Named errors have their own row in README.md's "Errors and what to do"; anything else (a bug, States.*) shares one.
    runbook: `README.md#${(ERROR_NAMES as readonly string[]).includes(error) ? error.toLowerCase() : 'provisioningfailed'}`,
    executionId: input.executionId ?? 'unknown',
    domain: req.domain ?? 'unknown',
    namespaces: req.namespaces ?? [],
  };
}

export async function notifyFailure(
  input: FailureInput,
  deps: { notify?: NotifyPort; log: Logger },
): Promise<{ published: boolean; summary: FailureSummary }> {
  const summary = summarizeFailure(input);
  // Not `...summary` as it is: its `message` would replace the log line's own message.
  const { message, ...rest } = summary;
  deps.log.error('provisioning failed', { ...rest, errorMessage: message });
  if (!deps.notify) return { published: false, summary };
  await deps.notify.publish(`kserve-edge: ${summary.error} for ${summary.domain}`, JSON.stringify(summary, null, 2));
  return { published: true, summary };
}
