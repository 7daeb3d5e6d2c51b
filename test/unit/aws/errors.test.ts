import { AccessDeniedError, AwsRejectedError, AwsUnavailableError, ClusterNotFoundError, ThrottledError } from '../../../shared/errors';
import { isAwsError, mapAwsError, stripRequestIds, withAws } from '../../../shared/aws/errors';
import { sdkError } from '../../fakes/awsError';

describe('Function: mapAwsError', () => {
  it.each([
    ['ThrottlingException', 400],
    ['Throttling', 400],
    ['PriorRequestNotComplete', 400],
    ['TooManyRequestsException', 400],
    ['RequestLimitExceeded', 503],
    ['SomethingElse', 429],
  ])('maps %s (%i) to Throttled', (name, status) => {
    const err = mapAwsError(sdkError(name, 'Rate exceeded', status), 'route53:GetChange');
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err.name).toBe('Throttled');
    expect(err.message).toMatch(/^throttled on route53:GetChange: /);
  });

  it.each(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'])('maps %s to AccessDenied naming the action', (name) => {
    // Prepare
    const sdk = sdkError(name, 'User: arn:aws:sts::1:assumed-role/x is not authorized', 400);
    // Act
    const err = mapAwsError(sdk, 'route53:ChangeResourceRecordSets');
    // Assess
    expect(err).toBeInstanceOf(AccessDeniedError);
    expect(err.message).toMatch(/^not allowed to route53:ChangeResourceRecordSets: /);
    expect(err.cause).toBe(sdk);
  });

  it('maps a bare 403 to AccessDenied', () => {
    expect(mapAwsError(sdkError('Forbidden', 'no', 403), 'eks:DescribeCluster')).toBeInstanceOf(AccessDeniedError);
  });

  it.each([
    ['InternalFailure', 500],
    ['ServiceUnavailable', 503],
    ['Unknown', 502],
  ])('maps %s (%i) to AwsUnavailable', (name, status) => {
    expect(mapAwsError(sdkError(name, 'oops', status), 'acm:DescribeCertificate')).toBeInstanceOf(AwsUnavailableError);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])('maps socket error %s to AwsUnavailable', (code) => {
    const sock = Object.assign(new Error(`connect ${code} 127.0.0.1:5000`), { code });
    const err = mapAwsError(sock, 'acm:ListCertificates');
    expect(err).toBeInstanceOf(AwsUnavailableError);
    expect(err.message).toContain(code);
  });

  it('maps an SDK TimeoutError to AwsUnavailable', () => {
    const t = new Error('socket hung up');
    t.name = 'TimeoutError';
    expect(mapAwsError(t, 'sns:Publish')).toBeInstanceOf(AwsUnavailableError);
  });

  it('names any other AWS refusal AwsRejected, with a stable message and the cause', () => {
    const sdk = sdkError('InvalidChangeBatch', 'Tried to create resource record set but it already exists');
    const err = mapAwsError(sdk, 'route53:ChangeResourceRecordSets');
    expect(err.constructor).toBe(AwsRejectedError);
    expect(err.name).toBe('AwsRejected');
    expect(err.message).toBe(
      'failed to route53:ChangeResourceRecordSets: InvalidChangeBatch: Tried to create resource record set but it already exists',
    );
    expect(err.cause).toBe(sdk);
  });

  it('names a client fault without a status AwsRejected, and leaves a non-AWS failure a plain Error (a bug)', () => {
    const quota = Object.assign(new Error('you have reached your quota'), { name: 'LimitExceededException', $fault: 'client' });
    expect(mapAwsError(quota, 'acm:RequestCertificate')).toBeInstanceOf(AwsRejectedError);
    const bug = mapAwsError(new TypeError("Cannot read properties of undefined (reading 'Id')"), 'route53:GetChange');
    expect(bug.constructor).toBe(Error);
    expect(bug.message).toBe("failed to route53:GetChange: TypeError: Cannot read properties of undefined (reading 'Id')");
  });

  it('passes automation errors through unchanged', () => {
    const own = new ClusterNotFoundError('nope');
    expect(mapAwsError(own, 'eks:DescribeCluster')).toBe(own);
  });

  it('keeps request ids out of messages', () => {
    const a = mapAwsError(sdkError('ValidationException', 'bad arn (Request ID: 1b2c3d4e-aaaa-bbbb-cccc-0123456789ab)'), 'acm:X');
    const b = mapAwsError(sdkError('ValidationException', 'bad arn (Request ID: ffffffff-aaaa-bbbb-cccc-0123456789ab)'), 'acm:X');
    expect(a.message).toBe('failed to acm:X: ValidationException: bad arn');
    expect(b.message).toBe(a.message);
    const t = mapAwsError(sdkError('Throttling', 'Rate exceeded RequestId: 4f1c-aa'), 'route53:GetChange');
    expect(t.message).not.toMatch(/4f1c/);
  });
});

describe('Function: stripRequestIds', () => {
  it.each([
    ['x (RequestId: abc-123)', 'x'],
    ['x; x-amzn-RequestId=abc-123', 'x'],
    ['request id abc123 was bad', 'was bad'],
    ['no ids here', 'no ids here'],
  ])('%s', (input, out) => {
    expect(stripRequestIds(input)).toBe(out);
  });
});

describe('Function: withAws', () => {
  it('returns the value', async () => {
    await expect(withAws('acm:X', async () => 42)).resolves.toBe(42);
  });
  it('maps the failure', async () => {
    await expect(
      withAws('acm:X', async () => {
        throw sdkError('ThrottlingException', 'slow down');
      }),
    ).rejects.toBeInstanceOf(ThrottledError);
  });
});

describe('Function: isAwsError', () => {
  it('sees the AWS name through a mapped error', () => {
    const mapped = mapAwsError(sdkError('InvalidChangeBatch', 'x'), 'route53:ChangeResourceRecordSets');
    expect(isAwsError(mapped, 'InvalidChangeBatch')).toBe(true);
    expect(isAwsError(mapped, 'NoSuchHostedZone')).toBe(false);
  });
});
