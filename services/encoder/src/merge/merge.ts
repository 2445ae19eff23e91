import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PermanentError, probe, runFfmpeg, type Logger, type MediaInfo } from '@reelbus/kit';
import {
  concatList,
  extractAudioArgs,
  joinArgs,
  normaliseArgs,
  reproductionArgs,
  silenceArgs,
} from './args.ts';
import { adtsHeader, joinAdts, parseAdts, planAudioJoin, type AdtsFrame } from './audio-join.ts';
import { compareClips, describeDifference, planMerge, type MergePlan } from './compare.ts';
import { probeClip, type ClipProbe } from './probe.ts';

/** One input of `mergeClips`: a local file and how users name it. */
export interface MergeInput {
  file: string;
  /** `clips[3]` */
  label: string;
  /** Its key or URL, for messages. */
  shown: string;
}

export interface MergeOptions {
  inputs: readonly MergeInput[];
  /** Where the joined MP4 is written. */
  output: string;
  /** Scratch directory for this merge (intermediate files); the caller removes it. */
  workDir: string;
  /** x264 preset of re-encoded clips. */
  preset?: string;
  signal?: AbortSignal;
  logger?: Logger;
  stallTimeoutMs?: number;
  /** 0-100 over the whole merge, with what is going on. */
  onProgress?: (percent: number, message?: string) => void;
  /** How many ffprobe runs at once. Default 4. */
  probeConcurrency?: number;
}

export interface MergeResult {
  plan: MergePlan;
  /** What users are told: which clips were re-encoded and why (empty for a pure copy join). */
  notes: string[];
  /** The joined file, probed. */
  media: MediaInfo;
  /** Sum of the inputs' picture durations. */
  expectedDurationSec: number;
  /** Probing and comparing the inputs, re-encoding the odd ones, the join (ffmpeg), probing the result. */
  timings: { probeMs: number; normaliseMs: number; joinMs: number; verifyMs: number };
}

/** The largest number of inputs one ffmpeg run opens (file handles, demuxer buffers). */
const EXTRACT_BATCH = 32;

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Joins `inputs` in order into one MP4 (see the README "Merges"): probe and compare every input,
 * re-encode only what differs from the majority (or everything to the delivery preset when the
 * majority is not web-ready), then join the pictures with the concat demuxer and the sound frame by
 * frame, all by stream copy. Bad inputs throw PermanentError naming the clip (`clips[3]: …`).
 */
export async function mergeClips(opts: MergeOptions): Promise<MergeResult> {
  const {
    inputs,
    output,
    workDir,
    preset,
    signal,
    logger,
    stallTimeoutMs,
    onProgress,
    probeConcurrency = 4,
  } = opts;
  const ff = (step: string, args: string[], durationSec?: number, onPct?: (p: number) => void) =>
    runFfmpeg({
      step,
      args,
      ...(durationSec ? { durationSec } : {}),
      ...(onPct ? { onProgress: (p) => p.percent !== undefined && onPct(p.percent) } : {}),
      ...(signal ? { signal } : {}),
      ...(logger ? { logger } : {}),
      ...(stallTimeoutMs ? { stallTimeoutMs } : {}),
    });
  const t0 = performance.now();
  onProgress?.(0, `probing ${inputs.length} clips`);
  const probeOne = async (input: MergeInput, index: number) => {
    const p = await probeClip({
      file: input.file,
      index,
      label: input.label,
      shown: input.shown,
      ...(signal ? { signal } : {}),
    });
    if (!p.video)
      throw new PermanentError(`${input.label}: "${input.shown}" has no video stream; a merge joins videos`, {
        step: 'merge',
      });
    if (!(p.video.durationSec > 0))
      throw new PermanentError(`${input.label}: "${input.shown}" has a picture of no length`, {
        step: 'merge',
      });
    return p;
  };
  const probes = await mapLimit(inputs, probeConcurrency, probeOne);
  const probeMs = performance.now() - t0;

  let plan = planMerge({ probes });
  if (plan.needsReproductionCheck) {
    const file = join(workDir, 'reproduce.mp4');
    await ff('merge', reproductionArgs({ video: plan.video, ...(preset ? { preset } : {}), output: file }));
    const made = await probeClip({ file, index: -1, label: 'reproduction', shown: file });
    plan = planMerge({ probes, videoReproducible: made.video?.extradata === plan.video.extradata });
  }
  const notes = plan.clips.flatMap((c) => {
    const what = [c.video === 'encode' ? 'picture' : '', c.audio === 'encode' ? 'sound' : ''].filter(Boolean);
    if (what.length === 0 && !c.remux)
      return c.audio === 'silence' ? [`${c.label}: has no sound; silence fills its length`] : [];
    const did = what.length ? `re-encoded (${what.join(' and ')})` : 'rewritten without re-encoding';
    return [
      `${c.label}: ${did} because ${c.reasons.map((r) => r.replace(`${c.label}: `, '')).join('; ') || 'it differs'}`,
    ];
  });
  for (const n of notes) logger?.info({ merge: plan.mode }, n);

  // Normalise the odd clips, weighted by their length for the progress.
  const t1 = performance.now();
  const todo = plan.clips.filter((c) => c.video === 'encode' || c.audio === 'encode' || c.remux);
  const totalTodo = todo.reduce((s, c) => s + (probes[c.index]!.video!.durationSec || 0), 0) || 1;
  let doneTodo = 0;
  const files = inputs.map((i) => i.file);
  const finalProbes: ClipProbe[] = [...probes];
  for (const c of todo) {
    const p = probes[c.index]!;
    const file = join(workDir, `normalised-${String(c.index).padStart(3, '0')}.mp4`);
    const dur = p.video!.durationSec;
    onProgress?.(10 + (70 * doneTodo) / totalTodo, `re-encoding ${c.label}`);
    await ff(
      'merge',
      normaliseArgs({
        input: files[c.index]!,
        probe: p,
        plan: c,
        video: plan.video,
        audio: plan.audio,
        ...(preset ? { preset } : {}),
        output: file,
      }),
      dur,
      (pct) => onProgress?.(10 + (70 * (doneTodo + (dur * pct) / 100)) / totalTodo, `re-encoding ${c.label}`),
    );
    doneTodo += dur;
    files[c.index] = file;
    finalProbes[c.index] = await probeClip({
      file,
      index: c.index,
      label: c.label,
      shown: `${inputs[c.index]!.shown} (normalised)`,
    });
  }
  // Whatever was done, the join is only made when every picture now matches (the check is the feature).
  const after = compareClips(finalProbes).differences.filter(
    (d) => d.field.startsWith('video.') || d.field.startsWith('audio.'),
  );
  if (after.length > 0) {
    throw new PermanentError(
      `the clips still differ after normalising, so they cannot be joined by stream copy: ${after.map(describeDifference).join('; ')}`,
      { step: 'merge' },
    );
  }
  const normaliseMs = performance.now() - t1;

  const t2 = performance.now();
  onProgress?.(80, `joining ${inputs.length} clips`);
  const adts = await extractAudio({ probes: finalProbes, files, workDir, ff });
  const rate = plan.audio.sampleRate;
  const frameSamples = finalProbes.find((p) => p.audio?.frameSamples)?.audio?.frameSamples ?? 1024;
  const audioPlan = planAudioJoin({
    frameSamples,
    clips: finalProbes.map((p, i) => ({
      videoSamples: p.video!.durationSec * rate,
      ...(p.audio
        ? {
            audio: {
              frames: adts[i]!.length,
              primingSamples: p.audio.primingSamples,
              leadSamples: p.audio.leadSamples,
            },
          }
        : {}),
    })),
  });
  // The first clip's priming before time 0, to the sample (2112 for Apple's AAC is not whole frames).
  const first = finalProbes[0]!.audio;
  const prerollSamples = audioPlan.preroll.length > 0 && first ? first.primingSamples - first.leadSamples : 0;
  let silentFrame: AdtsFrame | undefined;
  if (audioPlan.silentFrames > 0) {
    const file = join(workDir, 'silence.aac');
    await ff('merge', silenceArgs({ audio: plan.audio, output: file }));
    const frames = parseAdts(await readFile(file));
    // A frame from the middle: the first ones carry the encoder's start-up.
    silentFrame = frames[Math.min(3, frames.length - 1)];
  }
  const audioFile = join(workDir, 'joined.aac');
  await writeFile(
    audioFile,
    joinAdts({ plan: audioPlan, clipFrames: adts, ...(silentFrame ? { silentFrame } : {}) }),
  );
  const listFile = join(workDir, 'clips.ffconcat');
  await writeFile(
    listFile,
    concatList(
      finalProbes.map((p, i) => ({
        file: files[i]!,
        durationSec: p.video!.durationSec,
        ...(p.video!.startSec ? { inpointSec: p.video!.startSec } : {}),
      })),
    ),
  );
  const expectedDurationSec = finalProbes.reduce((s, p) => s + p.video!.durationSec, 0);
  await ff(
    'merge',
    joinArgs({ listFile, audioFile, prerollSec: prerollSamples / rate, output }),
    expectedDurationSec,
    (pct) => onProgress?.(80 + pct * 0.2, `joining ${inputs.length} clips`),
  );
  const joinMs = performance.now() - t2;
  // The real file, probed (what video.encoded reports), timed apart from the join itself.
  const t3 = performance.now();
  const media = await probe(output);
  const verifyMs = performance.now() - t3;
  onProgress?.(100);
  return { plan, notes, media, expectedDurationSec, timings: { probeMs, normaliseMs, joinMs, verifyMs } };
}

/**
 * Each clip's sound as ADTS frames (empty for clips without sound). Where the probe located every
 * AAC packet in an MP4/MOV file, the frames are read from the file here (raw AAC + an ADTS header:
 * no ffmpeg run); the others are copied to ADTS by ffmpeg, in as few runs as batches allow.
 */
async function extractAudio({
  probes,
  files,
  workDir,
  ff,
}: {
  probes: readonly ClipProbe[];
  files: readonly string[];
  workDir: string;
  ff: (step: string, args: string[]) => Promise<unknown>;
}): Promise<AdtsFrame[][]> {
  const out: AdtsFrame[][] = probes.map(() => []);
  const viaFfmpeg: Array<{ i: number; file: string; streamIndex: number; output: string }> = [];
  for (const [i, p] of probes.entries()) {
    const a = p.audio;
    if (!a) continue;
    const frames =
      a.packets && a.aac
        ? await readAacFrames({ file: files[i]!, packets: a.packets, aac: a.aac })
        : undefined;
    if (frames) out[i] = frames;
    else
      viaFfmpeg.push({
        i,
        file: files[i]!,
        streamIndex: a.index,
        output: join(workDir, `audio-${String(i).padStart(3, '0')}.aac`),
      });
  }
  for (let b = 0; b < viaFfmpeg.length; b += EXTRACT_BATCH) {
    await ff('merge', extractAudioArgs({ inputs: viaFfmpeg.slice(b, b + EXTRACT_BATCH) }));
  }
  for (const j of viaFfmpeg) out[j.i] = parseAdts(await readFile(j.output));
  return out;
}

/** The AAC packets at `packets` in `file`, each behind its ADTS header; undefined when ADTS cannot carry this configuration. */
export async function readAacFrames({
  file,
  packets,
  aac,
}: {
  file: string;
  packets: ReadonlyArray<{ pos: number; size: number }>;
  aac: { objectType: number; sampleRate: number; channelConfig: number };
}): Promise<AdtsFrame[] | undefined> {
  if (!adtsHeader({ ...aac, payloadBytes: 1 })) return undefined;
  const fh = await open(file, 'r');
  try {
    const frames: AdtsFrame[] = [];
    for (const { pos, size } of packets) {
      const frame = new Uint8Array(size + 7);
      frame.set(adtsHeader({ ...aac, payloadBytes: size })!, 0);
      const { bytesRead } = await fh.read(frame, 7, size, pos);
      if (bytesRead !== size) throw new Error(`${file}: short read of an audio packet at byte ${pos}`);
      frames.push(frame);
    }
    return frames;
  } finally {
    await fh.close();
  }
}
