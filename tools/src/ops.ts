// Operator commands on the bus: the dead-letter stream and job retries. The logic is the kit's
// (listDeadLetters, replayDeadLetter, retryJob), shared with ingest's operator routes.
import {
  Bus,
  KvJobStore,
  MongoJobStore,
  getDeadLetter,
  listDeadLetters,
  replayDeadLetter,
  retryJob,
  type DeadLetter,
  type JobStore,
} from '@reelbus/kit';

export interface OpsEnv {
  natsUrl: string;
  namespace: string;
  jobStore: 'kv' | 'mongo';
  mongoUri?: string;
  mongoDb: string;
}

export function opsEnv(env: Record<string, string | undefined>): OpsEnv {
  return {
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    namespace: env.REELBUS_NAMESPACE ?? 'reelbus',
    jobStore: env.JOB_STORE === 'mongo' ? 'mongo' : 'kv',
    mongoUri: env.MONGODB_URI,
    mongoDb: env.MONGODB_DB ?? 'reelbus',
  };
}

function describe(dl: DeadLetter): string {
  return `#${dl.seq}  ${dl.at}  ${dl.type ?? '?'}  job=${dl.jobId ?? '?'}  ${dl.service}/${dl.step}  (${dl.deliveries ?? '?'} deliveries)\n      ${dl.reason}`;
}

async function openJobs(bus: Bus, env: OpsEnv): Promise<JobStore> {
  if (env.jobStore === 'mongo') {
    if (!env.mongoUri) throw new Error('JOB_STORE=mongo needs MONGODB_URI');
    return MongoJobStore.open({ uri: env.mongoUri, db: env.mongoDb });
  }
  return KvJobStore.open({ nc: bus.nc, bucket: bus.names.jobsBucket });
}

export async function runOps(opts: {
  command: string;
  args: string[];
  all: boolean;
  limit: number;
  env?: OpsEnv;
}): Promise<void> {
  const { command, args, all, limit, env = opsEnv(process.env) } = opts;
  const bus = await Bus.connect({
    servers: env.natsUrl,
    namespace: env.namespace,
    name: 'reelbus-cli',
    waitOnFirstConnect: false,
  });
  try {
    if (command === 'retry') {
      const jobId = args[0];
      if (!jobId) throw new Error('usage: retry <jobId>');
      const jobs = await openJobs(bus, env);
      try {
        const result = await retryJob({ bus, jobs, jobId });
        if (result.outcome !== 'retried') throw new Error(result.message);
        console.log(
          `job ${jobId} reopened; replayed ${result.replayed.length} message(s): ${result.replayed.map((r) => `${r.deadLetter.type} at ${r.deadLetter.step}`).join(', ')}`,
        );
      } finally {
        await jobs.close();
      }
      return;
    }
    const [sub, arg] = args;
    switch (sub) {
      case 'list':
      case undefined: {
        const letters = await listDeadLetters(bus, { limit });
        if (letters.length === 0) console.log('the dead-letter stream is empty');
        for (const dl of letters) console.log(describe(dl));
        return;
      }
      case 'show': {
        const dl = await getDeadLetter(bus, Number(arg));
        if (!dl) throw new Error(`no dead letter #${arg}`);
        console.log(describe(dl));
        console.log(
          JSON.stringify({ headers: dl.headers, event: dl.event ?? dl.raw, invalid: dl.invalid }, null, 2),
        );
        return;
      }
      case 'replay': {
        const seqs = all ? (await listDeadLetters(bus, { limit: 10_000 })).map((d) => d.seq) : [Number(arg)];
        if (!all && !Number.isInteger(seqs[0])) throw new Error('usage: dlq replay <seq> | dlq replay --all');
        for (const seq of seqs) {
          const res = await replayDeadLetter(bus, seq, { remove: true });
          console.log(`replayed #${seq} as ${res.msgId}`);
        }
        return;
      }
      default:
        throw new Error(`unknown dlq command "${sub}" (list, show <seq>, replay <seq>|--all)`);
    }
  } finally {
    await bus.close();
  }
}
