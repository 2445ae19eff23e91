import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** A JSON logger for `service`. Children carry `jobId` and `traceId` (see the consume loop). */
export function createLogger(opts: {
  service: string;
  level?: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const { service, level = 'info', destination } = opts;
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/** A logger that drops everything: for tests and libraries called without one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
