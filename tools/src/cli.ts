#!/usr/bin/env node
// reelbus command line: run the embedded stack, run the demo, submit and follow jobs, operate the
// dead-letter stream. `reelbus help` lists everything.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Job } from '@reelbus/contracts';
import { ReelbusClient, clientOptionsFromEnv } from './client.ts';
import { makeSampleCall, makeSampleStory } from './sample.ts';
import { submitStory } from './story.ts';
import { submitRender } from './render.ts';
import { formatModels, parseParamArgs } from './generate.ts';
import { submitMerge } from './merge.ts';
import { runReel, runReelDemo } from './reel-command.ts';
import {
  createProjectFromFile,
  demoEdits,
  demoProjectSpec,
  moveHistory,
  projectApi,
  projectSummary,
  renderProject,
  type ProjectSummaryView,
  type Revisioned,
} from './project.ts';
import { startStack, type Stack } from './stack.ts';
import { progressBar } from './progress-line.ts';
import { ensureStudioBuilt } from './studio-build.ts';
import { traceLine } from './trace.ts';
import { fileSize, locationLine, videoLocation } from './video-location.ts';
import { freePort } from '@reelbus/kit/testing';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const DATA_DIR = resolve(process.env.REELBUS_HOME ?? join(ROOT, '.reelbus'));
/** Seven services start at once; on a busy 2-core machine that can take well over a minute. */
const READY_TIMEOUT_MS = 180_000;

const HELP = `reelbus — recordings, photos, music and AI clips in; web-ready MP4 out.

Usage: npx reelbus <command> [options]      (or: npm run reelbus -- <command>; node --import tsx tools/src/cli.ts <command>)

Local stack (embedded profile: nats-server, every service, files under .reelbus/)
  stack                      start everything and stay in the foreground (Ctrl-C stops)
  demo [call|story|reel|project]
                             start the stack, render the bundled sample call (or story), print the video's path, stop;
                             reel: generate 3 offline takes, approve them, compile, print the MP4's path;
                             project: a 6-scene project edited, previewed and rendered, print the MP4's path
  seed-music                 generate the sample music library into the stack's blobs (setup does it once; else the
                             first story does)
                             (the stack restarts a crashed service or nats-server with back-off; see the README)

Jobs (talk to ingest: REELBUS_URL, default http://127.0.0.1:8080; REELBUS_API_KEY, default from .reelbus/)
  submit <file> [--callback <url>] [--provider local|fal] [--no-follow]
                             upload a stereo call recording (left = caller, right = callee) and follow it
  story <audio> [--photo <f>] [--image <f>]… [--mood <m>] [--gain <dB>] [--duck] [--name <n>] [--title <t>]
        [--logo <f>] [--background <#rrggbb>] [--backend ffmpeg|mediaconvert] [--callback <url>] [--no-follow]
                             submit a spoken story (files are uploaded; blob keys and https URLs are passed on)
  models [--type <t>]        list the models (image, video, audio, speech, avatar) with prices and params
  render <timeline.json> [--file <field>=<path>]… [--backend ffmpeg|mediaconvert] [--callback <url>] [--no-follow]
                             render a Timeline (contracts/schemas/timeline-request.v1.json); sources may name local
                             files as { "file": "<path>" } (relative to the Timeline) or { "upload": "<field>" }:
                             they are uploaded with it; follows the render (chunks, time left), prints the MP4's path
  generate <model> key=value… [--callback <url>] [--no-follow]
                             run a model (e.g. generate local-image prompt="a red fox" width=640), follow it,
                             print the output's path
  merge <clip> <clip>… [--callback <url>] [--no-follow]
                             join 2-500 clips (local files are uploaded; blob keys and https URLs are passed on)
                             into one MP4, by stream copy when they match; prints the output's path
  reel create <spec.json> [--no-follow]
                             create a reel ({ title, sections: [{ title?, model, params }], callbackUrl? }),
                             one take per section; waits for the takes and shows them
  reel show <id>             sections, takes (status, length, file), approvals, the compile
  reel approve <id> <section> [take]
                             approve a take (section: s2, 2 or its title; take: default the newest ready one)
  reel reject <id> <section> <take> [--reason <text>]
  reel regenerate <id> <section> [key=value…]
                             a new take of the section, its params changed by the key=value pairs
  reel order <id> <section>…  re-order the sections (every section, in the new order)
  reel compile <id> [--no-follow]
                             join the approved takes in section order; prints the MP4's path
  project create <spec.json> create a scene project (the POST /v1/projects body); prints its id and revision
  project show <id>          print the project (scenes, voice, music) with its revision and undo/redo history
  project preview|render <id> [--no-follow]
                             render the current revision: a 480p / 15 fps preview, or the final video
  project undo|redo <id>     walk the project's history (each step a new revision)
  follow <jobId>             show a job's progress until it ends
  status <jobId>             print a job document and its Jaeger trace link (JAEGER_URL, default http://localhost:16686)
  list [--status <s>] [--limit <n>]
  cancel <jobId> [--reason <text>]
                             stop a running job: it ends "cancelled" (one webhook); ffmpeg and providers are stopped
  delete <jobId> [--cancel]  erase a job: its blobs under jobs/<id>/, its document and its dead letters
                             (a running job only with --cancel, which stops it first)

Operations (talk to NATS: NATS_URL, default nats://127.0.0.1:4222; REELBUS_NAMESPACE, default reelbus)
  dlq list [--limit <n>]     list dead-lettered messages with their reasons
  dlq show <seq>             show one, with its original event
  dlq replay <seq>|--all     put it (or all) back on the bus after a fix
  retry <jobId>              retry a failed job from the step that failed, reusing stored outputs
  storage lifecycle --print|--apply
                             the S3 lifecycle rules that expire tagged intermediates (INTERMEDIATE_TTL) and outputs
                             (OUTPUT_TTL) in whole days; --apply writes them to S3_BUCKET (S3_REGION, S3_ENDPOINT,
                             S3_FORCE_PATH_STYLE), keeping rules that are not reelbus's

Environment: REELBUS_HOME (state dir, default ./.reelbus), REELBUS_PORT (ingest port for stack/demo),
REELBUS_DEMO_SHORT_SIDE (the project demo's render size, default 720).`;

async function followJob(client: ReelbusClient, jobId: string): Promise<Job> {
  const tty = process.stdout.isTTY;
  let last = '';
  const job = await client.follow(jobId, (j) => {
    const line = progressBar(j, process.stdout.columns);
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
  // Cancelled (or any end but completed): no output to show, and a script must not take it for a success.
  if (job.status !== 'completed') {
    const reason = job.cancel?.reason ? `: ${job.cancel.reason}` : '';
    const by = job.cancel?.by ? ` by ${job.cancel.by}` : '';
    console.error(`job ${job.id} ended ${job.status}${by}${reason}`);
    process.exitCode = 1;
    return;
  }
  for (const w of job.warnings) console.log(`warning: ${w}`);
  const video = job.outputs.video;
  if (video) {
    console.log(
      `video: ${video.width}x${video.height}, ${video.durationSec.toFixed(2)} s, ${(video.sizeBytes / 1e6).toFixed(2)} MB${video.videoCount ? `, ${video.videoCount} clips joined` : ''}`,
    );
    // The path only when this machine holds that very file (REELBUS_HOME or a remote REELBUS_URL
    // put it elsewhere), else the signed link.
    console.log(
      locationLine(
        videoLocation({
          key: video.key,
          sizeBytes: video.sizeBytes,
          blobDir,
          link: job.links?.video,
          sizeOf: fileSize,
        }),
      ),
    );
  }
  if (job.kind === 'generation' || job.kind === 'render') {
    for (const [name, out] of Object.entries(job.outputs)) {
      if (!out || name === 'video') continue;
      const size = out.width ? `${out.width}x${out.height}` : '';
      const length = out.durationSec ? `${out.durationSec.toFixed(2)} s` : '';
      console.log(`${name}: ${[size, length].filter(Boolean).join(', ')}`);
      // As for videos: a path only when this machine holds that very file.
      const where = videoLocation({
        key: out.key,
        sizeBytes: out.sizeBytes,
        blobDir,
        link: undefined,
        sizeOf: fileSize,
      });
      console.log(locationLine(where));
    }
    if (job.cost?.actualUsd !== undefined) console.log(`cost: $${job.cost.actualUsd}`);
    return;
  }
  if (job.outputs.audio) console.log(`audio only (${job.fallback}): ${job.outputs.audio.key}`);
}

async function runStackForeground(): Promise<void> {
  // The studio is a build ingest serves: make it when it is missing or older than its sources.
  await ensureStudioBuilt({ root: ROOT, log: (l) => console.log(l) });
  const stack = await startStack({
    root: ROOT,
    dataDir: DATA_DIR,
    natsPort: Number(process.env.REELBUS_NATS_PORT ?? 4222),
    ingestPort: Number(process.env.REELBUS_PORT ?? 8080),
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  console.log(
    `\nreelbus is up: ${stack.processes.length} service processes healthy, NATS at ${stack.natsUrl}`,
  );
  console.log(`studio:  ${stack.ingestUrl}/  (sign in with the API key)`);
  console.log(`job API: ${stack.ingestUrl}/v1/jobs`);
  if (stack.secrets.created)
    console.log(`API key (shown once, also in ${join(DATA_DIR, 'secrets.json')}): ${stack.secrets.apiKey}`);
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

async function runDemo(kind: string): Promise<void> {
  if (kind === 'reel')
    return runReelDemo({
      root: ROOT,
      dataDir: DATA_DIR,
      readyTimeoutMs: READY_TIMEOUT_MS,
      followJob,
      printOutcome,
    });
  if (kind === 'project') return runProjectDemo();
  if (kind !== 'call' && kind !== 'story')
    throw new Error(`demo takes "call", "story", "reel" or "project", not "${kind}"`);
  const samples = join(DATA_DIR, 'samples');
  const call = kind === 'call' ? makeSampleCall({ file: join(samples, 'call.wav') }).file : undefined;
  const story = kind === 'story' ? await makeSampleStory({ dir: join(samples, 'story') }) : undefined;
  console.log(`sample ${kind}: ${call ?? story?.audio}`);
  let stack: Stack | undefined;
  const logs: string[] = [];
  try {
    stack = await startStack({
      root: ROOT,
      dataDir: DATA_DIR,
      natsPort: 0,
      ingestPort: await freePort(),
      log: (l) => logs.push(l),
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    console.log(`stack healthy (${stack.processes.length} services); submitting the sample ${kind}…`);
    if (story && !hasMusic(stack.blobDir))
      console.log(
        'first story here: the compositor generates the sample music library first (a few seconds, once)',
      );
    const options = { baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey };
    const client = new ReelbusClient(options);
    const { jobId } = story
      ? await submitStory({ client: options, ...story, storyteller: 'Rose', title: 'Summers by the sea' })
      : await client.submitRecording({ file: call! });
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

/** The offline project demo: a 6-scene project, edited (reorder, overlay, music volume, undo), previewed and rendered. */
async function runProjectDemo(): Promise<void> {
  const shortSide = demoShortSide(process.env.REELBUS_DEMO_SHORT_SIDE);
  let stack: Stack | undefined;
  const logs: string[] = [];
  try {
    stack = await startStack({
      root: ROOT,
      dataDir: DATA_DIR,
      natsPort: 0,
      ingestPort: await freePort(),
      log: (l) => logs.push(l),
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    console.log(`stack healthy (${stack.processes.length} services); creating a 6-scene project…`);
    const options = { baseUrl: stack.ingestUrl, apiKey: stack.secrets.apiKey };
    const client = new ReelbusClient(options);
    const created = await projectApi<Revisioned>({
      client: options,
      method: 'POST',
      path: '/v1/projects',
      body: demoProjectSpec({ shortSide }),
    });
    console.log(`project ${created.projectId} (revision ${created.revision})`);
    for (const line of await demoEdits(options, created.projectId)) console.log(`  ${line}`);
    const view = await projectApi<ProjectSummaryView>({
      client: options,
      method: 'GET',
      path: `/v1/projects/${created.projectId}`,
    });
    for (const line of projectSummary(view)) console.log(`  ${line}`);
    for (const what of ['preview', 'render'] as const) {
      const { jobId, revision } = await renderProject(options, created.projectId, what);
      console.log(`${what} of revision ${revision}: job ${jobId}`);
      const job = await followJob(client, jobId);
      printOutcome(await client.getJob(job.id), stack.blobDir);
      if (job.status !== 'completed') return;
    }
  } catch (err) {
    console.error(logs.slice(-40).join('\n'));
    throw err;
  } finally {
    await stack?.stop();
  }
}

/** REELBUS_DEMO_SHORT_SIDE: the project demo's final render size (default 720; tests use a small one). */
function demoShortSide(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 144 || n > 2160 || n % 2 !== 0)
    throw new Error(`REELBUS_DEMO_SHORT_SIDE=${value}: expected an even number of pixels from 144 to 2160`);
  return n;
}

/** `reelbus project <action> …` */
async function runProjectCommand(action: string | undefined, args: string[], follow: boolean): Promise<void> {
  const options = clientOptionsFromEnv(process.env, DATA_DIR);
  const id = args[0];
  const need = (what: string) => {
    if (!id) throw new Error(`usage: project ${action} <${what}>`);
    return id;
  };
  switch (action) {
    case 'create': {
      const r = await createProjectFromFile(options, need('spec.json'));
      console.log(`project ${r.projectId} (revision ${r.revision})`);
      return;
    }
    case 'show': {
      const view = await projectApi({ client: options, method: 'GET', path: `/v1/projects/${need('id')}` });
      console.log(JSON.stringify(view, null, 2));
      return;
    }
    case 'preview':
    case 'render': {
      const { jobId, revision } = await renderProject(options, need('id'), action);
      console.log(`${action} of revision ${revision}: job ${jobId}`);
      if (!follow) return;
      const client = new ReelbusClient(options);
      await followJob(client, jobId);
      return printOutcome(await client.getJob(jobId), join(DATA_DIR, 'blobs'));
    }
    case 'undo':
    case 'redo': {
      const r = await moveHistory(options, need('id'), action);
      console.log(
        `${action === 'undo' ? 'undid' : 'redid'} "${r.label}": revision ${r.revision} (${r.canUndo} to undo, ${r.canRedo} to redo)`,
      );
      return;
    }
    default:
      throw new Error('usage: project create|show|preview|render|undo|redo …');
  }
}

/** Generates the sample music library into the embedded profile's blobs, unless it has music. */
async function seedMusic(): Promise<void> {
  const { FsBlobStore, seedSampleLibrary } = await import('@reelbus/kit');
  const blobDir = join(DATA_DIR, 'blobs');
  const r = await seedSampleLibrary({
    blobs: new FsBlobStore({ root: blobDir }),
    onStart: () => console.log(`generating the sample music library into ${join(blobDir, 'music')}…`),
  });
  if (r.seeded) console.log(`done: ${r.keys.length} files in ${((r.ms ?? 0) / 1000).toFixed(1)} s`);
  else console.log(`${join(blobDir, 'music')} has music already: nothing to do`);
}

/** True when the blob store under `blobDir` has a music library (the compositor seeds one when not). */
function hasMusic(blobDir: string): boolean {
  const dir = join(blobDir, 'music');
  return existsSync(dir) && readdirSync(dir).length > 0;
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
      photo: { type: 'string' },
      image: { type: 'string', multiple: true },
      mood: { type: 'string' },
      gain: { type: 'string' },
      duck: { type: 'boolean' },
      name: { type: 'string' },
      title: { type: 'string' },
      logo: { type: 'string' },
      background: { type: 'string' },
      backend: { type: 'string' },
      type: { type: 'string' },
      reason: { type: 'string' },
      file: { type: 'string', multiple: true },
      cancel: { type: 'boolean' },
      print: { type: 'boolean' },
      apply: { type: 'boolean' },
    },
  });
  const client = () => new ReelbusClient(clientOptionsFromEnv(process.env, DATA_DIR));
  switch (command) {
    case 'stack':
      return runStackForeground();
    case 'demo':
      return runDemo(positionals[0] ?? 'call');
    case 'seed-music':
      return seedMusic();
    case 'story': {
      const audio = positionals[0];
      if (!audio) throw new Error('usage: story <audio file | blob key | https URL> [options]');
      const options = clientOptionsFromEnv(process.env, DATA_DIR);
      const mood = values.mood as 'adventurous' | 'family' | 'nostalgic' | 'reflective' | 'none' | undefined;
      const { jobId } = await submitStory({
        client: options,
        audio,
        userPhoto: values.photo,
        images: values.image ?? [],
        storyteller: values.name,
        title: values.title,
        music: {
          ...(mood ? { mood } : {}),
          ...(values.gain !== undefined ? { gainDb: Number(values.gain) } : {}),
          ...(values.duck ? { duck: true } : {}),
        },
        brand: {
          ...(values.logo ? { logo: values.logo } : {}),
          ...(values.background ? { background: values.background } : {}),
        },
        backend: values.backend as 'ffmpeg' | 'mediaconvert' | undefined,
        callbackUrl: values.callback,
      });
      console.log(`job ${jobId}`);
      if (values['no-follow']) return;
      const c = new ReelbusClient(options);
      await followJob(c, jobId);
      return printOutcome(await c.getJob(jobId), join(DATA_DIR, 'blobs'));
    }
    case 'render': {
      const file = positionals[0];
      if (!file) throw new Error('usage: render <timeline.json> [--file <field>=<path>]… [--callback <url>]');
      const files: Record<string, string> = {};
      for (const f of values.file ?? []) {
        const eq = f.indexOf('=');
        if (eq <= 0) throw new Error(`--file ${f}: expected <field>=<path>`);
        // Relative to where the command runs (paths inside the Timeline are relative to its file).
        files[f.slice(0, eq)] = resolve(f.slice(eq + 1));
      }
      const options = clientOptionsFromEnv(process.env, DATA_DIR);
      const accepted = await submitRender({
        client: options,
        file,
        files,
        callbackUrl: values.callback,
        backend: values.backend,
      });
      console.log(
        `job ${accepted.jobId}${accepted.uploads ? ` (${accepted.uploads} file${accepted.uploads > 1 ? 's' : ''} uploaded)` : ''}`,
      );
      if (values['no-follow']) return;
      const c = new ReelbusClient(options);
      await followJob(c, accepted.jobId);
      return printOutcome(await c.getJob(accepted.jobId), join(DATA_DIR, 'blobs'));
    }
    case 'submit': {
      const file = positionals[0];
      if (!file) throw new Error('usage: submit <file>');
      const c = client();
      const { jobId } = await c.submitRecording({
        file,
        callbackUrl: values.callback,
        provider: values.provider,
      });
      console.log(`job ${jobId}`);
      if (values['no-follow']) return;
      await followJob(c, jobId);
      return printOutcome(await c.getJob(jobId), join(DATA_DIR, 'blobs'));
    }
    case 'models': {
      const { models } = await client().listModels({ type: values.type });
      console.log(models.length ? formatModels(models) : `no ${values.type ?? ''} models`);
      return;
    }
    case 'generate': {
      const [modelId, ...args] = positionals;
      if (!modelId) throw new Error('usage: generate <model> key=value… (see "models")');
      const c = client();
      const { models } = await c.listModels();
      const model = models.find((m) => m.id === modelId);
      if (!model) throw new Error(`unknown model "${modelId}"; "models" lists them`);
      const accepted = await c.generate({
        model: modelId,
        params: parseParamArgs({ args, model }),
        callbackUrl: values.callback,
      });
      console.log(
        `job ${accepted.jobId} (estimated $${accepted.estimatedCostUsd}, ~${accepted.estimatedTimeSec} s)`,
      );
      if (values['no-follow']) return;
      await followJob(c, accepted.jobId);
      return printOutcome(await c.getJob(accepted.jobId), join(DATA_DIR, 'blobs'));
    }
    case 'merge': {
      if (positionals.length < 2)
        throw new Error('usage: merge <clip> <clip>… (files, blob keys or https URLs)');
      const options = clientOptionsFromEnv(process.env, DATA_DIR);
      const { jobId, clips } = await submitMerge({
        client: options,
        clips: positionals,
        callbackUrl: values.callback,
      });
      console.log(`job ${jobId} (${clips} clips)`);
      if (values['no-follow']) return;
      const c = new ReelbusClient(options);
      await followJob(c, jobId);
      return printOutcome(await c.getJob(jobId), join(DATA_DIR, 'blobs'));
    }
    case 'reel':
      return runReel({
        args: positionals,
        client: client(),
        blobDir: join(DATA_DIR, 'blobs'),
        follow: !values['no-follow'],
        reason: values.reason,
        followJob,
        printOutcome,
      });
    case 'project':
      return runProjectCommand(positionals[0], positionals.slice(1), !values['no-follow']);
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
      const job = await client().getJob(id);
      console.log(JSON.stringify(job, null, 2));
      console.log(traceLine({ job }));
      return;
    }
    case 'list': {
      const { jobs } = await client().listJobs({
        status: values.status,
        limit: values.limit ? Number(values.limit) : 20,
      });
      for (const j of jobs)
        console.log(
          `${j.id}  ${j.kind.padEnd(6)} ${j.status.padEnd(9)} ${String(Math.round(j.progress)).padStart(3)}%  ${j.createdAt}`,
        );
      if (jobs.length === 0) console.log('no jobs');
      return;
    }
    case 'cancel': {
      const id = positionals[0];
      if (!id) throw new Error('usage: cancel <jobId> [--reason <text>]');
      const r = await client().cancelJob(id, values.reason ? { reason: values.reason } : {});
      console.log(r.alreadyCancelled ? `job ${id} was already cancelled` : `job ${id} cancelled`);
      return;
    }
    case 'delete': {
      const id = positionals[0];
      if (!id) throw new Error('usage: delete <jobId> [--cancel]');
      const r = await client().deleteJob(id, { cancel: values.cancel === true });
      console.log(
        `job ${id} deleted${r.cancelled ? ' (cancelled first)' : ''}: ${r.blobsRemoved} blob(s), ${r.bytesFreed} bytes, ${r.deadLettersRemoved} dead letter(s)`,
      );
      return;
    }
    case 'storage': {
      if (positionals[0] !== 'lifecycle' || values.print === values.apply)
        throw new Error('usage: storage lifecycle --print|--apply');
      const { runStorageLifecycle } = await import('./storage.ts');
      return runStorageLifecycle({ mode: values.apply ? 'apply' : 'print', env: process.env });
    }
    case 'dlq':
    case 'retry': {
      const { runOps } = await import('./ops.ts');
      return runOps({
        command,
        args: positionals,
        all: values.all === true,
        limit: values.limit ? Number(values.limit) : 50,
      });
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
