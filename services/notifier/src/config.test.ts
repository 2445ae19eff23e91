import { ConfigError, parseConfig } from '@reelbus/kit';
import { describe, expect, it } from 'vitest';
import { NotifierEnv, toNotifierConfig } from './config.ts';

const SECRET = 'a-secret-of-enough-length';

describe('notifier config', () => {
  it('fills in the documented defaults', () => {
    expect(toNotifierConfig(parseConfig(NotifierEnv, { WEBHOOK_SECRET: SECRET }))).toEqual({
      webhook: { secret: SECRET, timeoutMs: 10_000, attempts: 5, backoffMs: 1_000, allowPrivate: false },
      watchdog: {
        intervalMs: 30_000,
        stepTimeoutsSec: { encode: 600, generate: 900 },
        defaultTimeoutSec: 300,
      },
      dailyCostBudgetUsd: 100,
      opsGaugesIntervalMs: 30_000,
      retention: { intermediateTtlMs: 7 * 86_400_000, outputTtlMs: undefined, sweepIntervalMs: 600_000 },
    });
  });

  it('reads the retention TTLs (0 = at once, never = keep) and turns the sweeper off with 0', () => {
    const c = toNotifierConfig(
      parseConfig(NotifierEnv, {
        WEBHOOK_SECRET: SECRET,
        INTERMEDIATE_TTL: '0',
        OUTPUT_TTL: '90d',
        RETENTION_SWEEP_INTERVAL_MS: '0',
      }),
    );
    expect(c.retention).toEqual({
      intermediateTtlMs: 0,
      outputTtlMs: 90 * 86_400_000,
      sweepIntervalMs: undefined,
    });
  });

  it('takes the cost alert amount and turns the operations gauges off with 0', () => {
    const c = toNotifierConfig(
      parseConfig(NotifierEnv, {
        WEBHOOK_SECRET: SECRET,
        COST_ALERT_DAILY_USD: '12.5',
        OPS_GAUGES_INTERVAL_MS: '0',
      }),
    );
    expect(c.dailyCostBudgetUsd).toBe(12.5);
    expect(c.opsGaugesIntervalMs).toBeUndefined();
  });

  const bad: { name: string; env: Record<string, string>; problem: RegExp }[] = [
    { name: 'a missing WEBHOOK_SECRET', env: {}, problem: /^WEBHOOK_SECRET: is required.*\(not set\)$/ },
    {
      name: 'a short WEBHOOK_SECRET',
      env: { WEBHOOK_SECRET: 'short' },
      problem: /^WEBHOOK_SECRET: must be at least 16 characters/,
    },
    {
      name: 'a non-numeric WEBHOOK_TIMEOUT_MS',
      env: { WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: 'soon' },
      problem: /^WEBHOOK_TIMEOUT_MS: /,
    },
    {
      name: 'an INTERMEDIATE_TTL without a unit',
      env: { WEBHOOK_SECRET: SECRET, INTERMEDIATE_TTL: '7' },
      problem: /^INTERMEDIATE_TTL: "7" is not a time to live: use 0, never, or a number with a unit/,
    },
    {
      name: 'zero WEBHOOK_ATTEMPTS',
      env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ATTEMPTS: '0' },
      problem: /^WEBHOOK_ATTEMPTS: must be at least 1/,
    },
    {
      name: 'a negative COST_ALERT_DAILY_USD',
      env: { WEBHOOK_SECRET: SECRET, COST_ALERT_DAILY_USD: '-5' },
      problem: /^COST_ALERT_DAILY_USD: must be at least 0/,
    },
    {
      name: 'a non-boolean ALLOW_PRIVATE_CALLBACKS',
      env: { WEBHOOK_SECRET: SECRET, ALLOW_PRIVATE_CALLBACKS: 'maybe' },
      problem: /^ALLOW_PRIVATE_CALLBACKS: must be true or false/,
    },
    {
      name: 'a WATCHDOG_STEP_TIMEOUTS entry that is not step=seconds',
      env: { WEBHOOK_SECRET: SECRET, WATCHDOG_STEP_TIMEOUTS: 'encode=600,generate=soon' },
      problem: /^WATCHDOG_STEP_TIMEOUTS: "generate=soon" is not step=seconds/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} with a line naming the variable`, () => {
      let err: unknown;
      try {
        parseConfig(NotifierEnv, c.env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(1);
      expect((err as ConfigError).problems[0]).toMatch(c.problem);
    });
  }
});
