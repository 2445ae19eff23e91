// 6. Story speed (issue 11 §9, §10): a 2-minute 1080p30 story (118 s of speech, three detailed photos,
// a logo, family music) through the embedded stack, upload → job.completed, against a plain ffmpeg
// command written by hand for the same video (zoompan on a 2880-wide still per image, xfade, the
// corner logo, music at -25 dB), alternating, in the same run; plus the encoder's own command alone
// (real-time factor, cores busy), the same Timeline in chunks on this one machine (CHUNK_CONCURRENCY
// at once, as the stack's encoder renders it), and the first story on a fresh stack (music library
// generated then). CPU-seconds are printed for every arm: on a shared machine they are the fair figure.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runFfmpeg } from '@reelbus/kit';
import { makeSpeech } from '@reelbus/kit/testing';
import { buildStoryTimeline } from '@reelbus/compositor';
import { buildChunkJoinArgs, buildRenderArgs, concatList, planChunks } from '@reelbus/encoder';
import { submitStory } from '../src/story.ts';
import { CALL_SERVICES, startBenchStack, tempDir, type BenchStack } from './common.ts';
import { row, type Row } from './stats.ts';

const FPS = 30;
const INTRO = 3;
const OUTRO = 2;
/** The compositor's crossfade between photos (IMAGE_CROSSFADE_SEC). */
const CROSSFADE = 1;
/**
 * How the stack's encoder is set for the story: chunks of CHUNK_SECONDS, CHUNK_CONCURRENCY of them at
 * once on one encoder (its defaults); the quick run's 35 s story is chunked too (lower threshold).
 */
const CHUNKS = { full: { seconds: 30, threshold: 90 }, quick: { seconds: 10, threshold: 20 } };
const CHUNK_CONCURRENCY = 2;

/**
 * Detailed 4:3 photos from ffmpeg's generators, with film-like grain (not flat cards: x264 spends its
 * bits and time on detail): the Mandelbrot set, a zoom into its seahorse valley, and rule 110 of a
 * cellular automaton in sepia (fine texture over the whole frame; 1-4 MB JPEGs at 2400×1800).
 */
const PHOTO_SOURCES = [
  'mandelbrot=s=2400x1800:maxiter=400:start_scale=2.5,noise=alls=8:allf=u',
  'mandelbrot=s=2400x1800:start_x=-0.7435669:start_y=0.1314023:start_scale=0.02:maxiter=1000,noise=alls=8:allf=u',
  'cellauto=s=800x600:rule=110:random_fill_ratio=0.5,scale=2400:1800:flags=bicubic,format=rgb24,' +
    'colorchannelmixer=rr=0.9:gg=0.65:bb=0.35,noise=alls=8:allf=u',
];

export interface StoryInputs {
  voice: string;
  voiceSec: number;
  photos: string[];
  logo: string;
  music: string;
}

/** Speech of exactly `seconds` (espeak-ng, repeated, trimmed), three detailed photos, a logo, a music bed. */
export async function makeStoryInputs(opts: { dir: string; seconds: number }): Promise<StoryInputs> {
  const { dir, seconds } = opts;
  const text =
    'When I was a child we spent every summer by the sea. My grandmother kept a small house above the harbour, ' +
    'and each morning the fishing boats came in with the tide while we ran down the steps to meet them. ';
  const once = await makeSpeech({
    text: text.repeat(12),
    file: join(dir, 'speech-long.wav'),
    sampleRate: 48000,
  });
  const voice = join(dir, 'voice.wav');
  execFileSync('sox', [once, voice, 'repeat', '3', 'trim', '0', String(seconds)]);
  const photos: string[] = [];
  for (const [i, src] of PHOTO_SOURCES.entries()) {
    const file = join(dir, `photo-${i + 1}.jpg`);
    await runFfmpeg({
      step: 'fixture',
      args: ['-f', 'lavfi', '-i', src, '-frames:v', '1', '-q:v', '2', file],
    });
    photos.push(file);
  }
  const logo = join(dir, 'logo.png');
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-f',
      'lavfi',
      '-i',
      'color=c=0x8a4b2a:s=480x272,format=rgba,drawbox=x=20:y=20:w=440:h=232:color=0xfff4e6@0.9:t=8',
      '-frames:v',
      '1',
      logo,
    ],
  });
  const music = join(dir, 'music.wav');
  // a chord with a slow tremolo: 10 s longer than any story here
  await runFfmpeg({
    step: 'fixture',
    args: [
      '-f',
      'lavfi',
      '-i',
      `aevalsrc='0.2*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.5*t))+0.15*sin(2*PI*277*t)+0.12*sin(2*PI*330*t)|0.2*sin(2*PI*220*t)+0.15*sin(2*PI*330*t)':s=48000:d=${seconds + INTRO + OUTRO + 10}`,
      music,
    ],
  });
  return { voice, voiceSec: seconds, photos, logo, music };
}

/**
 * The plain ffmpeg command a person would write for the same story, in one run: each photo zoompanned
 * from a 2880-wide still over its slot, the slots joined by `xfade`, the corner logo at 80 %, the voice
 * after the intro, the music at -25 dB, one H.264/AAC encode at the same settings as reelbus
 * (1080p30, veryfast, CRF 23). Written out by hand on purpose: it is the baseline, not reelbus.
 */
export function plainStoryArgs(opts: { inputs: StoryInputs; output: string }): string[] {
  const { inputs, output } = opts;
  const total = INTRO + inputs.voiceSec + OUTRO;
  const n = inputs.photos.length;
  const xf = CROSSFADE;
  // every photo shows total/n plus a crossfade into the next
  const slot = total / n;
  const chains: string[] = [];
  inputs.photos.forEach((_, i) => {
    const len = slot + (i < n - 1 ? xf : 0);
    const frames = Math.round(len * FPS);
    chains.push(
      `[${i}:v]scale=2880:1620:force_original_aspect_ratio=increase,crop=2880:1620,` +
        `zoompan=z='1+0.15*on/${frames}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${frames}:s=1920x1080:fps=${FPS},` +
        `trim=end_frame=${frames},setsar=1,format=yuv420p[p${i}]`,
    );
  });
  let last = 'p0';
  for (let i = 1; i < n; i++) {
    const offset = (slot * i).toFixed(3);
    chains.push(`[${last}][p${i}]xfade=transition=fade:duration=${xf}:offset=${offset}[x${i}]`);
    last = `x${i}`;
  }
  chains.push(`[${n}:v]scale=240:-2,format=rgba,colorchannelmixer=aa=0.8[logo]`);
  chains.push(`[${last}][logo]overlay=x=W-w-40:y=H-h-40:format=auto,format=yuv420p[v]`);
  chains.push(`[${n + 1}:a]adelay=${INTRO * 1000}:all=1[voice]`);
  chains.push(`[${n + 2}:a]volume=-25dB[music]`);
  chains.push(`[voice][music]amix=inputs=2:duration=longest:normalize=0,atrim=0:${total}[a]`);
  return [
    ...inputs.photos.flatMap((p) => ['-i', p]),
    '-i',
    inputs.logo,
    '-i',
    inputs.voice,
    '-i',
    inputs.music,
    '-filter_complex',
    chains.join(';'),
    '-map',
    '[v]',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '23',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(FPS),
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-t',
    String(total),
    '-movflags',
    '+faststart',
    '-y',
    output,
  ];
}

/**
 * CPU seconds of this process's reaped children (/proc/self/stat cutime + cstime, Linux): the delta
 * around one ffmpeg run is that run's CPU, all its threads included (the stack's services are
 * children too, but they do not exit during a run).
 */
function childrenCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return undefined;
  }
}

async function timedFfmpeg(args: string[], durationSec: number): Promise<{ sec: number; cpuSec?: number }> {
  const before = childrenCpuSeconds();
  const res = await runFfmpeg({ step: 'bench-story', args, durationSec });
  const after = childrenCpuSeconds();
  return {
    sec: res.elapsedMs / 1000,
    ...(before !== undefined && after !== undefined ? { cpuSec: after - before } : {}),
  };
}

/**
 * The encoder's chunked render of `timeline` on this machine, without the bus: the chunks (video only)
 * and the whole audio rendered `concurrency` at a time, then joined by stream copy — the same ffmpeg
 * commands the encoder's chunk handlers run. Wall seconds and CPU-seconds of all of it.
 */
async function chunkedAlone(opts: {
  timeline: ReturnType<typeof storyTimelineFor>;
  dir: string;
  chunkSeconds: number;
  concurrency: number;
}): Promise<{ sec: number; cpuSec?: number; chunks: number; durationSec: number }> {
  const { timeline, dir, chunkSeconds, concurrency } = opts;
  const plan = planChunks({ timeline, chunkSeconds });
  const inputs = (k: string) => join(dir, k);
  const parts = [
    buildRenderArgs({ timeline, inputs, output: join(dir, 'chunk-audio.m4a'), streams: 'audio' }),
    ...plan.chunks.map((c) =>
      buildRenderArgs({
        timeline,
        inputs,
        output: join(dir, `chunk-${c.index}.mp4`),
        streams: 'video',
        window: { startFrame: c.startFrame, frameCount: c.frameCount },
      }),
    ),
  ];
  const before = childrenCpuSeconds();
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < parts.length) {
        const p = parts[next++]!;
        await runFfmpeg({ step: 'bench-story-chunk', args: p.args, durationSec: p.durationSec });
      }
    }),
  );
  const list = join(dir, 'chunks.txt');
  writeFileSync(list, concatList(plan.chunks.map((c) => join(dir, `chunk-${c.index}.mp4`))));
  await runFfmpeg({
    step: 'bench-story-join',
    args: buildChunkJoinArgs({ list, audio: join(dir, 'chunk-audio.m4a'), output: join(dir, 'chunked.mp4') }),
  });
  const sec = (performance.now() - t) / 1000;
  const after = childrenCpuSeconds();
  return {
    sec,
    ...(before !== undefined && after !== undefined ? { cpuSec: after - before } : {}),
    chunks: plan.chunks.length,
    durationSec: plan.totalFrames / plan.fps,
  };
}

/** The story's Timeline as the compositor builds it; its blob keys are the inputs' file names (in one folder). */
function storyTimelineFor(inputs: StoryInputs) {
  return buildStoryTimeline({
    voice: { key: basename(inputs.voice), durationSec: inputs.voiceSec },
    images: inputs.photos.map((f) => ({ key: basename(f) })),
    logoKey: basename(inputs.logo),
    brand: { background: '#f3e9dc', introSeconds: INTRO, outroSeconds: OUTRO },
    music: { key: basename(inputs.music), variantSec: inputs.voiceSec + INTRO + OUTRO + 10, loop: false },
    musicGainDb: -25,
    duck: false,
    allowDegradation: false,
  });
}

async function runStory(opts: {
  bench: BenchStack;
  inputs: StoryInputs;
  timeoutMs?: number;
}): Promise<{ jobId: string; totalMs: number; steps: Record<string, number> }> {
  const { bench, inputs, timeoutMs = 900_000 } = opts;
  const t0 = performance.now();
  const { jobId } = await submitStory({
    client: { baseUrl: bench.stack.ingestUrl, apiKey: bench.stack.secrets.apiKey },
    audio: inputs.voice,
    userPhoto: inputs.photos[0]!,
    images: inputs.photos.slice(1),
    music: { mood: 'family', gainDb: -25 },
    brand: { logo: inputs.logo, introSeconds: INTRO, outroSeconds: OUTRO },
  });
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([
    bench.watcher.done(jobId),
    new Promise<never>(
      (_, rej) =>
        (timer = setTimeout(
          () => rej(new Error(`story ${jobId} did not finish in ${timeoutMs} ms`)),
          timeoutMs,
        )),
    ),
  ]).finally(() => clearTimeout(timer));
  if (end.type !== 'job.completed') {
    throw new Error(
      `story ${jobId} failed: ${bench.logs
        .filter((l) => /error|fail/i.test(l))
        .slice(-5)
        .join('\n')}`,
    );
  }
  const steps: Record<string, number> = {};
  for (const [type, at] of bench.watcher.seen.get(jobId) ?? [])
    if (!type.startsWith('job.progress')) steps[type] = at - t0;
  return { jobId, totalMs: end.at - t0, steps };
}

/** The music library's files in a stack's blob store (the first story generates them). */
function libraryFiles(bench: BenchStack): number {
  const dir = join(bench.stack.blobDir, 'music');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.mp3')).length;
}

export async function benchStory(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log, root } = opts;
  const seconds = quick ? 30 : 118;
  const rounds = 1;
  const dir = tempDir('story');
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { seconds, rounds };
  try {
    const inputs = await makeStoryInputs({ dir, seconds });
    const warm = await makeStoryInputs({ dir: join(dir, 'warm'), seconds: 8 });
    const total = INTRO + seconds + OUTRO;
    log(`story: ${seconds} s of speech (${total} s of video), 3 photos; starting the stack`);
    const chunking = quick ? CHUNKS.quick : CHUNKS.full;
    const bench = await startBenchStack({
      root,
      services: [...CALL_SERVICES, 'image-converter'],
      serviceEnv: {
        encoder: {
          CHUNK_SECONDS: String(chunking.seconds),
          CHUNK_THRESHOLD_SEC: String(chunking.threshold),
          CHUNK_CONCURRENCY: String(CHUNK_CONCURRENCY),
        },
      },
    });
    const reel: Array<{ totalMs: number; steps: Record<string, number>; encodeCpuSec?: number }> = [];
    const plain: Array<{ totalMs: number; cpuSec?: number }> = [];
    const alone: Array<{ rtf: number; sec: number; cores?: number; cpuSec?: number }> = [];
    const chunked: Array<{ rtf: number; sec: number; cores?: number; cpuSec?: number; chunks: number }> = [];
    try {
      // the first story on this fresh stack: the compositor makes the sample music library first
      const before = libraryFiles(bench);
      const first = await runStory({ bench, inputs: warm });
      raw.firstStory = { ...first, libraryFilesBefore: before, libraryFilesAfter: libraryFiles(bench) };
      log(`story: first story (8 s, fresh stack) ${(first.totalMs / 1000).toFixed(1)} s`);
      const second = await runStory({ bench, inputs: warm });
      raw.secondStory = second;
      log(`story: second story (8 s) ${(second.totalMs / 1000).toFixed(1)} s`);
      rows.push(
        row({
          bench: 'story',
          metric: 'first story (8 s) on a fresh stack vs the next one: upload→job.completed',
          unit: 's',
          subject: [first.totalMs / 1000],
          baseline: [second.totalMs / 1000],
          note: `music library ${before === 0 ? 'generated by the first story' : 'already there'}`,
        }),
      );
      for (let r = 0; r < rounds; r++) {
        // the encoder's command alone first: its CPU-seconds are the figure a loaded machine still gives
        const arms = ['alone', 'chunked', 'plain', 'reelbus'] as const;
        for (const arm of r % 2 === 0 ? arms : [...arms].reverse()) {
          if (arm === 'reelbus') {
            const res = await runStory({ bench, inputs });
            // the encoder records its ffmpeg's CPU-seconds on the job (cost.cpuSeconds)
            const job = await bench.client.getJob(res.jobId);
            const encodeCpuSec = job.cost?.cpuSeconds;
            reel.push({ ...res, ...(encodeCpuSec !== undefined ? { encodeCpuSec } : {}) });
            log(
              `story: reelbus upload→job.completed ${(res.totalMs / 1000).toFixed(1)} s for ${total} s (encode ${encodeCpuSec?.toFixed(0) ?? '?'} CPU-s)`,
            );
          } else if (arm === 'plain') {
            const res = await timedFfmpeg(plainStoryArgs({ inputs, output: join(dir, 'plain.mp4') }), total);
            plain.push({
              totalMs: res.sec * 1000,
              ...(res.cpuSec !== undefined ? { cpuSec: res.cpuSec } : {}),
            });
            log(`story: plain ffmpeg ${res.sec.toFixed(1)} s (${res.cpuSec?.toFixed(0) ?? '?'} CPU-s)`);
          } else if (arm === 'chunked') {
            const res = await chunkedAlone({
              timeline: storyTimelineFor(inputs),
              dir,
              chunkSeconds: chunking.seconds,
              concurrency: CHUNK_CONCURRENCY,
            });
            chunked.push({
              rtf: res.durationSec / res.sec,
              sec: res.sec,
              chunks: res.chunks,
              ...(res.cpuSec !== undefined ? { cpuSec: res.cpuSec, cores: res.cpuSec / res.sec } : {}),
            });
            log(
              `story: encoder commands in ${res.chunks} chunks, ${CHUNK_CONCURRENCY} at once ${res.sec.toFixed(1)} s (${res.cpuSec?.toFixed(0) ?? '?'} CPU-s)`,
            );
          } else {
            const built = buildRenderArgs({
              timeline: storyTimelineFor(inputs),
              inputs: (k) => join(dir, k),
              output: join(dir, 'alone.mp4'),
            });
            const { sec, cpuSec } = await timedFfmpeg(built.args, built.durationSec);
            alone.push({
              rtf: built.durationSec / sec,
              sec,
              ...(cpuSec !== undefined ? { cpuSec, cores: cpuSec / sec } : {}),
            });
            log(`story: encoder command alone ${sec.toFixed(1)} s (${cpuSec?.toFixed(0) ?? '?'} CPU-s)`);
          }
        }
      }
    } finally {
      await bench.close();
    }
    raw.reelbus = reel;
    raw.plain = plain;
    raw.alone = alone;
    raw.plainArgs = plainStoryArgs({ inputs, output: 'plain.mp4' });
    raw.chunked = chunked;
    raw.chunking = { ...chunking, concurrency: CHUNK_CONCURRENCY };
    const label = `${Math.round(total)} s 1080p30 story`;
    const cpuOf = (xs: Array<{ cpuSec?: number }>) => xs.map((x) => x.cpuSec ?? Number.NaN);
    const cores = (xs: Array<{ cores?: number }>) => xs.map((x) => x.cores?.toFixed(2) ?? '?').join(', ');
    rows.push(
      row({
        bench: 'story',
        metric: `${label}: upload→job.completed vs plain ffmpeg`,
        unit: 's',
        subject: reel.map((x) => x.totalMs / 1000),
        baseline: plain.map((x) => x.totalMs / 1000),
        note: `wall; target: reelbus ≤ ${seconds} s (1.0× real time of the speech)`,
      }),
      row({
        bench: 'story',
        metric: `${label}: upload→job.completed / seconds of speech (real-time factor)`,
        unit: '×',
        subject: reel.map((x) => x.totalMs / 1000 / seconds),
        note: 'target ≤ 1.0',
      }),
      row({
        bench: 'story',
        metric: `${label}: timeline.ready → video.encoded`,
        unit: 's',
        subject: reel.map(
          (x) => ((x.steps['video.encoded'] ?? NaN) - (x.steps['timeline.ready'] ?? NaN)) / 1000,
        ),
        note: `the stack's encoder: ${chunking.seconds}-s chunks over ${chunking.threshold} s, ${CHUNK_CONCURRENCY} at once`,
      }),
      row({
        bench: 'story',
        metric: `${label}: encoder CPU-seconds (stack) vs the plain command`,
        unit: 'cpu-s',
        subject: reel.map((x) => x.encodeCpuSec ?? Number.NaN),
        baseline: cpuOf(plain),
        note: "the job's cost.cpuSeconds (every chunk, the audio); fair on a shared machine",
      }),
      row({
        bench: 'story',
        metric: `${label}: encoder command alone (one pass) vs the plain command, wall`,
        unit: 's',
        subject: alone.map((x) => x.sec),
        baseline: plain.map((x) => x.totalMs / 1000),
        note: `real-time factor ${alone.map((x) => x.rtf.toFixed(2)).join(', ')} (higher is faster); ${cores(alone)} cores busy`,
      }),
      row({
        bench: 'story',
        metric: `${label}: encoder commands in chunks, ${CHUNK_CONCURRENCY} at once, vs one pass, wall`,
        unit: 's',
        subject: chunked.map((x) => x.sec),
        baseline: alone.map((x) => x.sec),
        note: `${chunked[0]?.chunks ?? '?'} chunks + audio + copy join; real-time factor ${chunked.map((x) => x.rtf.toFixed(2)).join(', ')}; ${cores(chunked)} cores busy`,
      }),
      row({
        bench: 'story',
        metric: `${label}: CPU-seconds, chunks vs one pass vs plain (base)`,
        unit: 'cpu-s',
        subject: cpuOf(chunked),
        baseline: cpuOf(plain),
        note: `one pass: ${cpuOf(alone)
          .map((x) => x.toFixed(0))
          .join(', ')} CPU-s`,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, raw };
}
