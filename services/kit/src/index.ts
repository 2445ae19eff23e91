export * from './errors.ts';
export * from './config.ts';
export * from './logger.ts';
// The subsystems below each keep their own barrel.
export * from './bus/index.ts';
export * from './blob/index.ts';
export * from './jobs/index.ts';
export * from './docs/index.ts';
export * from './ffmpeg/index.ts';
export * from './runtime/index.ts';
export * from './health/index.ts';
export * from './telemetry/index.ts';
export * from './http/index.ts';
export * from './music/index.ts';
