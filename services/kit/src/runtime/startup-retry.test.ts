import pino from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConfigError, PermanentError, TransientError } from '../errors.ts';
import { retryStartup } from './startup-retry.ts';

/** A logger whose records land in `lines`. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, sink), lines };
}

describe('retryStartup', () => {
  it('retries a step that fails for a passing reason, logging each failure, until it works', async () => {
    const { logger, lines } = recordingLogger();
    let calls = 0;
    const value = await retryStartup(
      'create the streams',
      async () => {
        calls++;
        if (calls < 3) throw new TransientError(`JetStream request timed out (${calls})`);
        return 'ready';
      },
      { logger, initialDelayMs: 1 },
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
    expect(lines.map((l) => [l.msg, l.attempt])).toEqual([
      ['cannot create the streams yet; retrying', 1],
      ['cannot create the streams yet; retrying', 2],
    ]);
    expect(String(lines[0]!.err)).toContain('JetStream request timed out (1)');
  });

  it('throws configuration and permanent errors at once', async () => {
    for (const err of [new ConfigError(['STREAM_REPLICAS: no']), new PermanentError('bad stream config')]) {
      let calls = 0;
      await expect(
        retryStartup(
          'open the job store',
          async () => {
            calls++;
            throw err;
          },
          { initialDelayMs: 1 },
        ),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
    }
  });

  it('gives up with the last error when the time is up', async () => {
    let calls = 0;
    await expect(
      retryStartup(
        'create a consumer',
        async () => {
          calls++;
          throw new Error(`no responders (${calls})`);
        },
        { timeoutMs: 50, initialDelayMs: 10, maxDelayMs: 10 },
      ),
    ).rejects.toThrow(/^no responders \(\d+\)$/);
    expect(calls).toBeGreaterThan(1);
    expect(calls).toBeLessThanOrEqual(6);
  });
});
