#!/usr/bin/env node
// reelbus command line: run the embedded stack, run the demo, submit and follow jobs, operate the
// dead-letter stream. `reelbus help` lists everything.
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job } from '@reelbus/contracts';
import { ReelbusClient, clientOptionsFromEnv } from './client.ts';
import { makeSampleCall } from './sample.ts';
import { startStack, type Stack } from './stack.ts';
import { freePort } from '@reelbus/kit/testing';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DATA_DIR = resolve(process.env.REELBUS_HOME ?? join(ROOT, '.reelbus'));

const HELP = `reelbus — recordings, photos, music and AI clips in; web-ready MP4 out.

Usage: npm run reelbus -- <command> [options]      (or: node --import tsx tools/src/cli.ts <command>)

Local stack (embedded profile: nats-server, every service, files under .reelbus/)
  stack                      start everything and stay in the foreground (Ctrl-C stops)
  demo                       start the stack, render the bundled sample call, print the video's path, stop

Jobs (talk to ingest: REELBUS_URL, default http://127.0.0.1:8080; REELBUS_API_KEY, default from .reelbus/)
  submit <file> [--callback <url>] [--provider local|fal] [--no-follow]
                             upload a stereo call recording (left = caller, right = callee) and follow it
  follow <jobId>             show a job's progress until it ends
  status <jobId>             print a job document
  list [--status <s>] [--limit <n>]

Operations (talk to NATS: NATS_URL, default nats://127.0.0.1:4222; REELBUS_NAMESPACE, default reelbus)
  dlq list [--limit <n>]     list dead-lettered messages with their reasons
  dlq show <seq>             show one, with its original event
  dlq replay <seq>|--all     put it (or all) back on the bus after a fix
  retry <jobId>              retry a failed job from the step that failed, reusing stored outputs

Environment: REELBUS_HOME (state dir, default ./.reelbus), REELBUS_PORT (ingest port for stack/demo).`;

function progressBar(job: Job): string {
  const width = 30;
  const filled = Math.round((job.progress / 100) * width);
  const running = Object.entries(job.steps).find(([, s]) => s.status === 'running');
  const step = running ? `${running[0]}${running[1].percent !== undefined ? ` ${Math.round(running[1].percent)}%` : ''}` : job.status;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${job.progress.toFixed(0).padStart(3)}%  ${step}`.padEnd(70);
}

async function followJob(client: ReelbusClient, jobId: string): Promise<Job> {
  const tty = process.stdout.isTTY;
  let last = '';
  const job = await client.follow(jobId, (j) => {
    const line = progressBar(j);
    if (line === last) return;
    last = line;
    process.stdout.write(tty ? `\r${line}` : `${line}\n`);
  });
  if (tty) process.stdout.write('\n');
  return job;
}

function printOutcome(job: Job & { links?: { video?: string } }, blobDir?: string): void {
  if (job.status === 'failed') {
    console.error(`job ${job.id} failed at step "${job.error?.step}": ${job.error?.reason}`);
    process.exitCode = 1;
    return;
  }
  for (const w of job.warnings) console.log(`warning: ${w}`);
  const video = job.outputs.video;
  if (video) {
    console.log(
      `video: ${video.width}x${video.height}, ${video.durationSec.toFixed(2)} s, ${(video.sizeBytes / 1e6).toFixed(2)} MB`,
    );
    if (blobDir) {
      const path = join(blobDir, video.key);
      console.log(existsSync(path) ? realpathSync(path) : path);
    }
    if (job.links?.video) console.log(`link: ${job.links.video}`);
  }
  if (job.outputs.audio) console.log(`audio only (${job.fallback}): ${job.outputs.audio.key}`);
}

async function runStackForeground(): Promise<void> {
  const stack = await startStack({
    root: ROOT,
    dataDir: DATA_DIR,
    natsPort: Number(process.env.REELBUS_NATS_PORT ?? 4222),
    ingestPort: Number(process.env.REELBUS_PORT ?? 8080),
  });
  console.log(`\nreelbus is up: ${stack.processes.length} service processes healthy, NATS at ${stack.natsUrl}`);
  console.log(`job API: ${stack.ingestUrl}/v1/jobs`);
  if (stack.secrets.created) console.log(`API key (shown once, also in ${join(DATA_DIR, 'secrets.json')}): ${stack.secrets.apiKey}`);
  else console.log(`API key: in ${join(DATA_DIR, 'secrets.json')}`);
  console.log('Ctrl-C stops everything.');
  await new Promise<void>((resolveStop) => {
    const onSignal = () => {
      console.log('\nstopping…');
      void stack.stop().then(resolveStop);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function runDemo(): Promise<void> {
  const sample = makeSampleCall({ file: join(DATA_DIR, 'samples', 'call.wav') }).file;
  console.log(`sample recording: ${sample}`);
  let stack: Stack | undefined;
  const logs: string[] = [];
  try {
    stack = await startStack({
      root: ROOT,
      dataDir: DATA_DIR,
      natsPort: 0,
      ingestPort: await freePort(),
      log: (l) => logs.push(l),
    });
    console.log(`stack healthy (${stack.processes.length} services); submitting the sample call…`);
    const client = new ReelbusClient({ baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey });
    const { jobId } = await client.submitRecording({ file: sample });
    console.log(`job ${jobId}`);
    const job = await followJob(client, jobId);
    printOutcome(await client.getJob(job.id), stack.blobDir);
  } catch (err) {
    console.error(logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await stack?.stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      callback: { type: 'string' },
      provider: { type: 'string' },
      'no-follow': { type: 'boolean' },
      status: { type: 'string' },
      limit: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  const client = () => new ReelbusClient(clientOptionsFromEnv(process.env, DATA_DIR));
  switch (command) {
    case 'stack':
      return runStackForeground();
    case 'demo':
      return runDemo();
    case 'submit': {
      const file = positionals[0];
      if (!file) throw new Error('usage: submit <file>');
      const c = client();
      const { jobId } = await c.submitRecording({ file, callbackUrl: values.callback, provider: values.provider });
      console.log(`job ${jobId}`);
      if (values['no-follow']) return;
      await followJob(c, jobId);
      return printOutcome(await c.getJob(jobId), join(DATA_DIR, 'blobs'));
    }
    case 'follow': {
      const id = positionals[0];
      if (!id) throw new Error('usage: follow <jobId>');
      const c = client();
      await followJob(c, id);
      return printOutcome(await c.getJob(id), join(DATA_DIR, 'blobs'));
    }
    case 'status': {
      const id = positionals[0];
      if (!id) throw new Error('usage: status <jobId>');
      console.log(JSON.stringify(await client().getJob(id), null, 2));
      return;
    }
    case 'list': {
      const { jobs } = await client().listJobs({ status: values.status, limit: values.limit ? Number(values.limit) : 20 });
      for (const j of jobs) console.log(`${j.id}  ${j.kind.padEnd(6)} ${j.status.padEnd(9)} ${String(Math.round(j.progress)).padStart(3)}%  ${j.createdAt}`);
      if (jobs.length === 0) console.log('no jobs');
      return;
    }
    case 'dlq':
    case 'retry': {
      const { runOps } = await import('./ops.ts');
      return runOps({ command, args: positionals, all: values.all === true, limit: values.limit ? Number(values.limit) : 50 });
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return;
    default:
      throw new Error(`unknown command "${command}"; see "help"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`reelbus: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
