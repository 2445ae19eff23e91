import { resolve } from 'node:path';
import type { z } from 'zod';
import { createBlobStore } from '../blob/create.ts';
import type { BlobStore } from '../blob/types.ts';
import { Bus } from '../bus/bus.ts';
import type { ConsumeOptions, Consumer } from '../bus/types.ts';
import { documentStores } from '../docs/open.ts';
import { ConfigError, describeError } from '../errors.ts';
import { startHealthServer, type HealthServer, type ReadinessCheck } from '../health/server.ts';
import { KvJobStore } from '../jobs/kv.ts';
import { MongoJobStore } from '../jobs/mongo.ts';
import type { JobStore } from '../jobs/types.ts';
import { createLogger } from '../logger.ts';
import { assertReplicatedCasIsAtomic } from '../state/kv.ts';
import { startTelemetry } from '../telemetry/telemetry.ts';
import { parseServiceConfig, processEnv } from './config.ts';
import { retryStartup } from './startup-retry.ts';
import type { BaseConfig, BusHandle, ServiceRuntime } from './types.ts';

/** Exit code for bad configuration (sysexits EX_CONFIG): the orchestrator should not restart-loop fast. */
export const EXIT_CONFIG = 78;

/**
 * After a signal, a shutdown that has not finished within the grace period plus this margin is
 * abandoned: the process logs the stage it was stuck at and exits 1, instead of hanging until the
 * orchestrator's SIGKILL (or for ever, under a supervisor that waits for the exit).
 */
export const SHUTDOWN_MARGIN_MS = 5_000;

export interface StartServiceOptions<S extends z.ZodObject> {
  /** Service name: logs, consumer names, connection name, telemetry. */
  name: string;
  /** The service's own environment variables (zod object keyed by variable name). */
  configSchema?: S;
  /** Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Stores the service uses (both by default). One not asked for throws when touched. */
  needs?: { blobs?: boolean; jobs?: boolean };
  /** False for a service that reads no events (ingest): it is ready without consumers. Default true. */
  consumes?: boolean;
  /** Install SIGTERM/SIGINT handlers that shut down and exit (default true; tests pass false). */
  handleSignals?: boolean;
}

export interface StartedService<C> extends ServiceRuntime<C> {
  /** The full bus (the runtime's `bus` is this, seen as a BusHandle). */
  fullBus: Bus;
  health: HealthServer;
  /** Stops consumers (within the grace period), runs onShutdown hooks, drains NATS. Idempotent. */
  shutdown(): Promise<void>;
}

/** Prints a ConfigError one line per problem and exits 78; rethrows anything else. */
function exitOnConfigError(name: string, err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${name}: invalid configuration:\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

function missing<T extends object>(what: string, flag: string): T {
  return new Proxy({} as T, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new Error(`this service did not ask for ${what}: pass needs: { ${flag}: true } to startService`);
    },
  });
}

async function openJobStore(opts: { base: BaseConfig; bus: Bus }): Promise<JobStore> {
  const { base, bus } = opts;
  if (base.jobStore === 'mongo') return MongoJobStore.open({ uri: base.mongoUri!, db: base.mongoDb });
  return KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket, replicas: base.streamReplicas });
}

function openBlobStore(base: BaseConfig): BlobStore {
  if (base.blobStore === 's3') {
    return createBlobStore({
      kind: 's3',
      bucket: base.s3.bucket!,
      region: base.s3.region,
      ...(base.s3.endpoint ? { endpoint: base.s3.endpoint } : {}),
      forcePathStyle: base.s3.forcePathStyle,
    });
  }
  return createBlobStore({ kind: 'fs', root: resolve(base.blobDir) });
}

/**
 * Starts a reelbus service: config (exit 78 with one line per bad variable), logger, telemetry,
 * bus + streams, stores, health server, and SIGTERM/SIGINT graceful shutdown.
 */
export async function startService<S extends z.ZodObject = z.ZodObject<Record<never, z.ZodType>>>(
  opts: StartServiceOptions<S>,
): Promise<StartedService<z.infer<S>>> {
  const { name, configSchema, env = processEnv(), needs = {}, handleSignals = true, consumes = true } = opts;
  const { blobs: needBlobs = true, jobs: needJobs = true } = needs;

  let parsed: { base: BaseConfig; config: z.infer<S> };
  try {
    parsed = parseServiceConfig({ env, schema: configSchema });
  } catch (err) {
    exitOnConfigError(name, err);
  }
  const { base, config } = parsed;
  const logger = createLogger({ service: name, level: base.logLevel });
  const telemetry = await startTelemetry({ serviceName: name, otlpEndpoint: base.otlpEndpoint });

  const bus = await Bus.connect({
    servers: base.natsUrl,
    namespace: base.namespace,
    name,
    logger,
    replicas: base.streamReplicas,
  });
  // A setting only the server can judge (STREAM_REPLICAS against its version) is a config error too.
  if (needJobs && base.jobStore === 'kv') {
    try {
      assertReplicatedCasIsAtomic(bus.nc, base.streamReplicas);
    } catch (err) {
      await bus.close();
      exitOnConfigError(name, err);
    }
  }
  await retryStartup('create the streams', () => bus.ensureStreams(), { logger });

  const blobs = needBlobs ? openBlobStore(base) : missing<BlobStore>('blob storage', 'blobs');
  const jobs = needJobs
    ? await retryStartup('open the job store', () => openJobStore({ base, bus }), { logger })
    : missing<JobStore>('a job store', 'jobs');

  const documents = documentStores({
    kind: base.jobStore,
    nc: bus.nc,
    names: bus.names,
    replicas: base.streamReplicas,
    mongoUri: base.mongoUri,
    mongoDb: base.mongoDb,
    logger,
  });

  const consumers: Consumer[] = [];
  // Ready means connected AND reading: a service whose consumers are not created yet would let a
  // deployment (or a test) send work that nobody reads.
  const checks = new Map<string, ReadinessCheck>([
    ['nats', () => bus.isConnected()],
    ['consuming', () => !consumes || consumers.length > 0],
  ]);
  const health = await startHealthServer({ host: base.healthHost, port: base.healthPort, checks });

  const hooks: Array<() => Promise<void> | void> = [];
  // Services see a BusHandle whose consumers the runtime stops at shutdown.
  const handle: BusHandle = {
    names: bus.names,
    publish: (type, jobId, data, popts) => bus.publish(type, jobId, data, popts),
    isConnected: () => bus.isConnected(),
    watchJob: (jobId, onEvent) => bus.watchJob(jobId, onEvent),
    cancelJob: (jobId, copts) => bus.cancelJob(jobId, copts),
    watchEvents: (onEvent) => bus.watchEvents(onEvent),
    consume: async (copts: ConsumeOptions) => {
      const c = await bus.consume({ ackWaitMs: base.ackWaitMs, maxDeliver: base.maxDeliver, ...copts });
      consumers.push(c);
      return c;
    },
  };

  let shuttingDown: Promise<void> | undefined;
  /** Where the shutdown is: named in the log line when it does not finish in time. */
  let stage = 'running';
  const shutdown = () =>
    (shuttingDown ??= (async () => {
      logger.info(
        { graceMs: base.shutdownGraceMs, inFlight: consumers.reduce((n, c) => n + c.inFlight, 0) },
        'shutting down',
      );
      stage = 'stopping the consumers';
      await Promise.all(consumers.map((c) => c.stop(base.shutdownGraceMs)));
      stage = 'running the shutdown hooks';
      for (const hook of hooks) {
        try {
          await hook();
        } catch (err) {
          logger.error({ err: describeError(err) }, 'shutdown hook failed');
        }
      }
      stage = 'closing the stores';
      await documents.close();
      if (needJobs)
        await jobs
          .close()
          .catch((err) => logger.warn({ err: describeError(err) }, 'closing the job store failed'));
      if (needBlobs)
        await blobs
          .close?.()
          .catch((err) => logger.warn({ err: describeError(err) }, 'closing the blob store failed'));
      stage = 'closing the NATS connection';
      await bus.close();
      stage = 'closing the health server';
      await health.close();
      stage = 'flushing telemetry';
      await telemetry.shutdown().catch(() => undefined);
      stage = 'stopped';
      logger.info('stopped');
    })());

  if (handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'signal received');
      const deadlineMs = base.shutdownGraceMs + SHUTDOWN_MARGIN_MS;
      setTimeout(() => {
        logger.error(
          { signal, deadlineMs, stage },
          `shutdown did not finish within ${deadlineMs} ms (stuck ${stage}): exiting`,
        );
        process.exit(1);
      }, deadlineMs).unref();
      shutdown().then(
        () => process.exit(0),
        (err) => {
          logger.error({ err: describeError(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  logger.info(
    {
      healthPort: health.port,
      namespace: base.namespace,
      blobStore: needBlobs ? base.blobStore : 'none',
      jobStore: needJobs ? base.jobStore : 'none',
    },
    'service ready',
  );

  return {
    name,
    base,
    config,
    logger,
    bus: handle,
    fullBus: bus,
    blobs,
    jobs,
    openDocuments: (o) => documents.open(o),
    health,
    shutdown,
    onShutdown: (fn) => void hooks.push(fn),
    addReadinessCheck: (checkName, check) => void checks.set(checkName, check),
  };
}
