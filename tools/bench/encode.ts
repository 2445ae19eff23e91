// 3. Encode speed: real-time factor (media seconds per wall second) of the encoder's one ffmpeg command
// for the call Timeline (the offline look drawn in it: faces, each speaker's waveform, labels) and a
// story-like Timeline (images with Ken Burns, crossfades, a title,
// narration + music), at 720p and 1080p, run the way the encoder runs it (the kit's runFfmpeg).
import { basename, join } from 'node:path';
import { rmSync } from 'node:fs';
import { Timeline, type TimelineInput } from '@reelbus/contracts';
import { runFfmpeg } from '@reelbus/kit';
import { makeImage, makeTone } from '@reelbus/kit/testing';
import { BUNDLED_FACES } from '@reelbus/ai-generator';
import { buildSplitArgs } from '@reelbus/audio-splitter';
import { buildCallTimeline } from '@reelbus/compositor';
import { buildRenderArgs } from '@reelbus/encoder';
import { makeCall, tempDir } from './common.ts';
import { row, type Row } from './stats.ts';

const SIZES = [
  { name: '720p', width: 1280, height: 720 },
  { name: '1080p', width: 1920, height: 1080 },
];

/** The x264 preset a Timeline gets when it names none. */
export function defaultPreset(): string {
  return Timeline.parse({ version: 1, duration: 1 }).output.video.preset;
}

export function storyTimeline(opts: {
  images: string[];
  narration: string;
  music: string;
  seconds: number;
  size: { width: number; height: number };
}): TimelineInput {
  const { images, narration, music, seconds, size } = opts;
  const per = seconds / images.length;
  const fade = 0.5;
  return {
    version: 1,
    duration: seconds,
    output: { width: size.width, height: size.height },
    tracks: [
      {
        name: 'images',
        clips: images.map((key, i) => ({
          type: 'image' as const,
          source: { key },
          start: Math.max(0, i * per - (i ? fade : 0)),
          duration: per + (i ? fade : 0),
          fit: 'cover' as const,
          fadeIn: i ? fade : 0,
          motion: {
            type: 'kenburns' as const,
            from: { zoom: 1, x: 0.5, y: 0.5 },
            to: { zoom: 1.25, x: i % 2 ? 0.3 : 0.7, y: 0.5 },
          },
        })),
      },
      {
        name: 'title',
        clips: [
          { type: 'text' as const, text: 'A story', start: 0, duration: Math.min(4, seconds), fadeOut: 0.5 },
        ],
      },
    ],
    audio: [
      { name: 'narration', source: { key: narration } },
      { name: 'music', source: { key: music }, gainDb: -25, loop: true, duck: { under: 'narration' } },
    ],
  };
}

export async function benchEncode(opts: {
  quick: boolean;
  log: (s: string) => void;
  root: string;
}): Promise<{ rows: Row[]; raw: unknown }> {
  const { quick, log } = opts;
  const seconds = quick ? 5 : 15;
  const rounds = quick ? 1 : 2;
  const dir = tempDir('encode');
  const preset = defaultPreset();
  const rtf: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  try {
    // inputs: the call and its channels split the audio-splitter's way
    const call = await makeCall({ dir, seconds });
    const roles = ['caller', 'callee'] as const;
    await runFfmpeg({
      step: 'split',
      args: buildSplitArgs({
        input: call.file,
        outputs: roles.map((role, channel) => ({ role, channel, file: join(dir, `${role}.wav`) })),
      }),
    });
    const images = await Promise.all(
      Array.from({ length: Math.max(2, Math.round(seconds / 5)) }, (_, i) =>
        makeImage({ file: join(dir, `img${i}.jpg`), width: 2048, height: 1536 }),
      ),
    );
    await makeTone({ file: join(dir, 'music.wav'), seconds: 7, frequency: 220, channels: 2 });

    const cases = SIZES.flatMap((size) => [
      {
        name: `call ${size.name}`,
        timeline: buildCallTimeline({
          recording: { key: 'recording', durationSec: call.durationSec },
          clips: {},
          drawn: Object.fromEntries(roles.map((r) => [r, { faceKey: `face-${r}`, audioKey: r }])),
          size,
          mode: 'stereo',
        }) as TimelineInput,
        inputs: (k: string) =>
          k === 'recording'
            ? call.file
            : k.startsWith('face-')
              ? BUNDLED_FACES[k.slice(5) as (typeof roles)[number]]
              : join(dir, `${k}.wav`),
      },
      {
        name: `story ${size.name} (Ken Burns)`,
        timeline: storyTimeline({
          images: images.map((f) => basename(f)),
          narration: 'narration.wav',
          music: 'music.wav',
          seconds: call.durationSec,
          size,
        }),
        inputs: (k: string) => (k === 'narration.wav' ? call.file : join(dir, k)),
      },
    ]);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? cases : [...cases].reverse();
      for (const c of order) {
        const built = buildRenderArgs({
          timeline: c.timeline,
          inputs: c.inputs,
          output: join(dir, 'out.mp4'),
        });
        const res = await runFfmpeg({ step: 'encode', args: built.args, durationSec: built.durationSec });
        (rtf[c.name] ??= []).push(built.durationSec / (res.elapsedMs / 1000));
        if (res.cpuSeconds !== undefined) (cpu[c.name] ??= []).push(res.cpuSeconds / (res.elapsedMs / 1000));
        log(`encode: ${c.name} ${(res.elapsedMs / 1000).toFixed(1)} s for ${built.durationSec.toFixed(0)} s`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rows: Row[] = Object.entries(rtf).map(([name, v]) =>
    row({
      bench: 'encode',
      metric: `${name}: real-time factor`,
      unit: '×rt',
      subject: v,
      note: `preset ${preset}${cpu[name] ? `, ${(cpu[name].reduce((a, b) => a + b, 0) / cpu[name].length).toFixed(2)} cores busy` : ''}; higher is faster`,
    }),
  );
  log(
    `encode: the Timeline default x264 preset is "${preset}" (contracts/src/timeline.ts OutputSettings.video.preset)`,
  );
  return { rows, raw: { seconds, rounds, defaultPreset: preset, rtf, coresBusy: cpu } };
}
