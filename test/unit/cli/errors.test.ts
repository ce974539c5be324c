import { describe, expect, it } from 'vitest';
import { CheckpointConflictError } from '../../../functions/engine/state-table';
import { ConfigError } from '../../../lib/config';
import { EXIT, explain } from '../../../src/cli/errors';

const sdkError = (name: string, message: string) => Object.assign(new Error(message), { name, $metadata: {} });

describe('explain: the CLI line, hint and exit code of any error', () => {
  it('says expired or unknown credentials and a denied call are AWS refusing, exit 3', () => {
    for (const name of [
      'ExpiredToken',
      'ExpiredTokenException',
      'InvalidClientTokenId',
      'UnrecognizedClientException',
    ]) {
      const e = explain(sdkError(name, 'The security token included in the request is expired'), {
        region: 'eu-west-1',
      });
      expect({ message: e.message, code: e.exitCode }).toEqual({
        message: `AWS refused the credentials in eu-west-1 (${name})`,
        code: EXIT.UNREACHABLE,
      });
      expect(e.hint).toMatch(/aws sso login/);
    }
    const denied = explain(
      sdkError(
        'AccessDeniedException',
        'User: arn:aws:iam::1:user/x is not authorized to perform: sqs:GetQueueUrl\nmore',
      ),
      {},
    );
    expect(denied.message).toBe(
      'not allowed: User: arn:aws:iam::1:user/x is not authorized to perform: sqs:GetQueueUrl',
    );
    expect(denied.exitCode).toBe(EXIT.UNREACHABLE);
  });

  it('reaches AWS or an endpoint, or not, by the network error or a timeout', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(explain(refused, { endpoint: 'http://localhost:1' }).message).toBe(
      'cannot reach http://localhost:1 (ECONNREFUSED)',
    );
    expect(explain(sdkError('TimeoutError', 'socket timed out'), { region: 'us-east-1' })).toMatchObject({
      message: 'cannot reach AWS in us-east-1 (TimeoutError)',
      exitCode: EXIT.UNREACHABLE,
    });
  });

  it('folds a one-issue config error into its line, and keeps a list of issues as a list', () => {
    expect(explain(new ConfigError('c.json', ['pairs[0].name: bad (given "X")']))).toMatchObject({
      message: 'config c.json: pairs[0].name: bad (given "X")',
      exitCode: EXIT.USAGE,
    });
    expect(explain(new ConfigError('c.json', ['a', 'b'])).message).toMatch(
      /^Invalid replication config \(c\.json\):\n {2}- a\n {2}- b$/,
    );
  });

  it('says another run holds a backfill checkpoint, and how to see or stop it, exit 2', () => {
    const e = explain(new CheckpointConflictError('held'), { pair: 'orders' });
    expect(e.message).toBe(
      'another run of pair "orders" holds its checkpoint (a deployed job, or a run in another terminal)',
    );
    expect(e.exitCode).toBe(EXIT.USAGE);
    expect(e.hint).toMatch(/replicator status/);
  });

  it('calls anything else a bug, in one line, exit 5', () => {
    const e = explain(new TypeError("Cannot read properties of undefined (reading 'x')\n    at f (a.ts:1:1)"));
    expect(e).toMatchObject({
      message: "unexpected error: TypeError: Cannot read properties of undefined (reading 'x')",
      exitCode: EXIT.INTERNAL,
    });
    expect(e.hint).toMatch(/--debug/);
  });
});
