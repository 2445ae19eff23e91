export type { BaseConfig, BusHandle, ServiceRuntime } from './types.ts';
export { BaseEnv, parseBaseConfig, parseServiceConfig } from './config.ts';
export { startService, EXIT_CONFIG, type StartServiceOptions, type StartedService } from './service.ts';
export { retryStartup } from './startup-retry.ts';
