import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TimelineInput } from '@reelbus/contracts';
import { chunkTimeline } from './chunks/plan.ts';
import { buildRenderArgs, UnsupportedTimelineError, type BuildRenderArgsOptions } from './filtergraph.ts';

const inputs = (key: string) => `/media/${key}`;
type ClipsInput = NonNullable<TimelineInput['tracks']>[number]['clips'];

/** The parts of one ffmpeg command: the input options, every filter chain, the output options. */
function build(timeline: TimelineInput, extra: Partial<BuildRenderArgsOptions> = {}) {
  const r = buildRenderArgs({ timeline, inputs, output: '/out/final.mp4', ...extra });
  const at = r.args.indexOf('-filter_complex');
  const graph = r.args[at + 1]!;
  return { ...r, input: r.args.slice(0, at), graph, chains: graph.split(';'), out: r.args.slice(at + 2) };
}

/** The flags that directly precede each `-i`, in order, with the file. */
function inputOptions(args: string[]): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  let from = 0;
  args.forEach((a, i) => {
    if (a === '-i') {
      out.push([args[i + 1]!, args.slice(from, i)]);
      from = i + 2;
    }
  });
  return out;
}

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

const H264_AAC = (fps: number, preset = 'veryfast') => [
  '-map',
  '[v]',
  '-c:v',
  'libx264',
  '-profile:v',
  'high',
  '-pix_fmt',
  'yuv420p',
  '-preset',
  preset,
  '-crf',
  '23',
  '-r',
  String(fps),
  '-map',
  '[a]',
  '-c:a',
  'aac',
  '-profile:a',
  'aac_low',
  '-b:a',
  '128k',
  '-ar',
  '48000',
  '-ac',
  '2',
  '-movflags',
  '+faststart',
  '/out/final.mp4',
];

const contain = (w: number, h: number) =>
  `scale=${w}:${h}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuva420p,` +
  `pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2:color=black@0`;

const callLayout: TimelineInput = {
  version: 1,
  tracks: [
    {
      clips: [
        {
          type: 'video',
          source: { key: 'jobs/j1/clips/caller.mp4' },
          start: 0,
          duration: 12.5,
          position: { x: 0, y: 0, width: 640, height: 720 },
          volume: 0,
        },
        {
          type: 'video',
          source: { key: 'jobs/j1/clips/callee.mp4' },
          start: 0,
          duration: 12.5,
          position: { x: 640, y: 0, width: 640, height: 720 },
          volume: 0,
        },
      ],
    },
  ],
  audio: [{ name: 'call', source: { key: 'jobs/j1/input/recording.wav' } }],
  duration: 12.5,
};

describe('buildRenderArgs', () => {
  it('renders a call layout as two letterboxed halves over a colour base, with the call audio, in one H.264/AAC encode', () => {
    const { args, input, chains, out, durationSec, frames } = build(callLayout);
    expect([durationSec, frames]).toEqual([12.5, 375]);
    expect(inputOptions(input)).toEqual([
      ['/media/jobs/j1/clips/caller.mp4', ['-t', '12.5']],
      ['/media/jobs/j1/clips/callee.mp4', ['-t', '12.5']],
      ['/media/jobs/j1/input/recording.wav', ['-t', '12.5']],
    ]);
    expect(chains).toEqual([
      // exactly round(duration × fps) frames
      'color=c=0x000000:s=1280x720:r=30,trim=end_frame=375,format=yuv420p[base]',
      // each source read on its own time stamps, turned into 30 fps on that grid, frames 0..374 kept
      `[0:v]fps=30:start_time=0,tpad=stop=-1:stop_mode=clone,trim=start_pts=0:end_pts=375,${contain(640, 720)},settb=1/30,setpts=N[c0]`,
      // the window in seconds with half a frame either side
      "[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.016667,12.483333)'[v1]",
      `[1:v]fps=30:start_time=0,tpad=stop=-1:stop_mode=clone,trim=start_pts=0:end_pts=375,${contain(640, 720)},settb=1/30,setpts=N[c2]`,
      "[v1][c2]overlay=x=640:y=0:eof_action=pass:enable='between(t,-0.016667,12.483333)'[v3]",
      '[v3]format=yuv420p[v]',
      // volume 0: the clips' own sound is not read; the call is padded/cut to exactly 600000 samples
      '[2:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,' +
        'apad=whole_len=600000,atrim=end_sample=600000[a_call_mix]',
      '[a_call_mix]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a]',
    ]);
    expect(out).toEqual(H264_AAC(30));
    // exactly one lossy encode: one output, one video and one audio encoder
    expect(args.filter((a) => a === '-c:v')).toHaveLength(1);
    expect(args.filter((a) => a === '-c:a')).toHaveLength(1);
  });

  it('draws the still cards of a drawn call once into a repeated background, and only the waveforms on every frame', () => {
    const card = (x: number, color: string, face: string, label: string): ClipsInput => [
      { type: 'color', color, start: 0, duration: 10, position: { x, y: 0, width: 640, height: 562 } },
      {
        type: 'image',
        source: { key: face },
        fit: 'contain',
        start: 0,
        duration: 10,
        position: { x, y: 0, width: 640, height: 562 },
      },
      {
        type: 'text',
        text: label,
        fontSize: 40,
        color: '#ffffff',
        start: 0,
        duration: 10,
        position: { x, y: 509, width: 640, height: 29 },
      },
    ];
    const wave = (x: number, key: string) => ({
      type: 'waveform' as const,
      source: { key },
      start: 0,
      duration: 10,
      position: { x, y: 562, width: 640, height: 158 },
    });
    const timeline: TimelineInput = {
      version: 1,
      duration: 10,
      tracks: [
        { clips: [...card(0, '#1f3b5c', 'a.png', 'Caller'), ...card(640, '#4b2a5c', 'b.png', 'Callee')] },
        { clips: [wave(0, 'caller.wav'), wave(640, 'callee.wav')] },
      ],
      audio: [{ name: 'call', source: { key: 'call.wav' } }],
    };
    const { chains } = build(timeline);
    const video = chains.filter((c) => !c.includes(':a]') && !c.startsWith('[a_'));
    const text = (label: string, x: number) =>
      `drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:expansion=none:text=${label}:fontsize=40:fontcolor=0xffffff:x=${x}+(640-text_w)/2:y=509+(29-text_h)/2`;
    expect(video).toEqual([
      // one frame: the background, each card's colour, face and label, in stack order, no `enable`
      'color=c=0x000000:s=1280x720:r=30,trim=end_frame=1,format=yuv420p[s0]',
      'color=c=0x1f3b5c:s=640x562:r=30,trim=end_frame=1,format=yuva420p,settb=1/30,setpts=N[c2]',
      '[s0][c2]overlay=x=0:y=0[s1]',
      `[0:v]${contain(640, 562)},loop=loop=-1:size=1,trim=end_frame=1,settb=1/30,setpts=N[c4]`,
      '[s1][c4]overlay=x=0:y=0[s3]',
      `[s3]${text('Caller', 0)}[s5]`,
      'color=c=0x4b2a5c:s=640x562:r=30,trim=end_frame=1,format=yuva420p,settb=1/30,setpts=N[c7]',
      '[s5][c7]overlay=x=640:y=0[s6]',
      `[1:v]${contain(640, 562)},loop=loop=-1:size=1,trim=end_frame=1,settb=1/30,setpts=N[c9]`,
      '[s6][c9]overlay=x=640:y=0[s8]',
      `[s8]${text('Callee', 640)}[s10]`,
      // …repeated for exactly round(duration × fps) frames
      '[s10]loop=loop=-1:size=1,trim=end_frame=300,settb=1/30,setpts=N[base]',
      "[base][c11]overlay=x=0:y=562:eof_action=pass:enable='between(t,-0.016667,9.983333)'[v12]",
      "[v12][c13]overlay=x=640:y=562:eof_action=pass:enable='between(t,-0.016667,9.983333)'[v14]",
      '[v14]format=yuv420p[v]',
    ]);
    // flattenStill: false draws every clip on every frame (the same pixels: render.test.ts)
    const slow = build(timeline, { flattenStill: false }).chains;
    expect(slow[0]).toBe('color=c=0x000000:s=1280x720:r=30,trim=end_frame=300,format=yuv420p[base]');
    expect(slow.filter((c) => c.includes('overlay='))).toHaveLength(6);
    expect(slow.filter((c) => c.includes('loop=loop=-1:size=1,trim=end_frame=300'))).toHaveLength(2);
  });

  it('takes into the still background only what stays the same on every frame and keeps the stacking order', () => {
    const rect = (x: number, y = 0) => ({ x, y, width: 100, height: 100 });
    const color = (x: number, more: object = {}) => ({
      type: 'color' as const,
      color: '#102030',
      start: 0,
      duration: 4,
      position: rect(x),
      ...more,
    });
    const stillChains = (clips: ClipsInput, extra = {}) =>
      build({ version: 1, duration: 4, tracks: [{ clips }] }, extra).chains.filter((c) =>
        /\[s\d+\]$/.test(c),
      );
    // a colour that moves in (fade), one that starts late, an image with Ken Burns: drawn per frame
    expect(stillChains([color(0, { fadeIn: 1 })])).toEqual([]);
    expect(stillChains([color(0, { start: 1, duration: 3 })])).toEqual([]);
    expect(
      stillChains([
        {
          type: 'image',
          source: { key: 'p.jpg' },
          start: 0,
          duration: 4,
          motion: { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.2, x: 0.5, y: 0.5 } },
        },
      ]),
    ).toEqual([]);
    // a still colour above a moving one: taken when their rects do not meet, not when they do
    const moving = color(0, { fadeOut: 1 });
    expect(stillChains([moving, color(100)])).toHaveLength(2);
    expect(stillChains([moving, color(50)])).toEqual([]);
    // a text above a moving clip stays in place, whatever its rect (drawtext may paint outside it)
    const label = { type: 'text' as const, text: 'Hi', start: 0, duration: 4, position: rect(300, 300) };
    expect(stillChains([moving, label])).toEqual([]);
    expect(stillChains([label, moving])).toHaveLength(2);
    // a chunk: a clip that covers the chunk's frames is still there, even if it started before it
    const long: TimelineInput = { version: 1, duration: 8, tracks: [{ clips: [color(0, { duration: 8 })] }] };
    expect(
      build(long, { window: { startFrame: 60, frameCount: 60 }, streams: 'video' }).chains.filter((c) =>
        /\[s\d+\]$/.test(c),
      ),
    ).toHaveLength(2);
  });

  it('uses the preset override and a constrained bitrate when the timeline asks for one', () => {
    const { out } = build(
      { ...callLayout, output: { video: { bitrateKbps: 4000 } } },
      { preset: 'ultrafast' },
    );
    // ultrafast would silently make Constrained Baseline; superfast keeps High
    expect(after(out, '-preset')).toBe('superfast');
    expect(out).not.toContain('-crf');
    expect(after(out, '-b:v')).toBe('4000k');
    expect(after(out, '-maxrate')).toBe('4000k');
    expect(after(out, '-bufsize')).toBe('8000k');
  });

  it('renders a slideshow with smooth Ken Burns, an alpha crossfade and a logo at opacity 0.8, stills decoded once', () => {
    const { input, chains } = build({
      version: 1,
      output: { fps: 25 },
      tracks: [
        {
          clips: [
            {
              type: 'image',
              source: { key: 'a.jpg' },
              start: 0,
              duration: 4,
              fadeOut: 1,
              fit: 'cover',
              motion: {
                type: 'kenburns',
                from: { zoom: 1, x: 0.5, y: 0.5 },
                to: { zoom: 1.25, x: 0.2, y: 0.8 },
              },
            },
            {
              type: 'image',
              source: { key: 'b.jpg' },
              start: 3,
              duration: 4,
              fadeIn: 1,
              fit: 'cover',
              motion: { type: 'kenburns', from: { zoom: 1.3, x: 0, y: 0 }, to: { zoom: 1, x: 0.5, y: 0.5 } },
            },
          ],
        },
        {
          name: 'logo',
          clips: [
            {
              type: 'image',
              source: { key: 'logo.png' },
              start: 0,
              duration: 7,
              opacity: 0.8,
              position: { x: 1060, y: 20, width: 200, height: 100 },
            },
          ],
        },
      ],
    });
    // every still is decoded and fitted once, then repeated; Ken Burns resamples each repeat
    expect(inputOptions(input)).toEqual([
      ['/media/a.jpg', ['-framerate', '25']],
      ['/media/b.jpg', ['-framerate', '25']],
      ['/media/logo.png', ['-framerate', '25']],
    ]);
    // zoom ≤ 1.25: fitted at the output size (opaque, 3 planes), the window's corners exact per frame
    const cover =
      'scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,setsar=1,format=yuv420p,loop=loop=-1:size=1,trim=end_frame=100';
    const window = (z: string, x: string, y: string) => {
      const [left, top, w, h] = [`(W-W/${z})*${x}`, `(H-H/${z})*${y}`, `W/${z}`, `H/${z}`];
      return (
        `perspective=x0='${left}':y0='${top}':x1='${left}+${w}':y1='${top}':x2='${left}':y2='${top}+${h}':` +
        `x3='${left}+${w}':y3='${top}+${h}':interpolation=linear:sense=source:eval=frame,format=yuva420p`
      );
    };
    expect(chains).toEqual([
      'color=c=0x000000:s=1280x720:r=25,trim=end_frame=175,format=yuv420p[base]',
      // the path (frame `in` of the clip's 100) and the fade-out run on the clip's own clock (pts =
      // frame of the clip, 1/25 s)
      `[0:v]${cover},${window('(1+0.25*in/99)', '(0.5+-0.3*in/99)', '(0.5+0.3*in/99)')}` +
        ',settb=1/25,setpts=N,fade=t=out:st=3:d=1:alpha=1[c0]',
      "[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.02,3.98)'[v1]",
      // zoom 1.3: fitted ×1.3 (1664×936) and each frame scaled down, so the close-up stays sharp
      `[1:v]${cover.replace(/1280:720/g, '1664:936')},` +
        `${window('(1.3+-0.3*in/99)', '(0+0.5*in/99)', '(0+0.5*in/99)').replace(',format', ',scale=1280:720,format')}` +
        ',settb=1/25,setpts=N,fade=t=in:st=0:d=1:alpha=1,setpts=PTS+75[c2]',
      "[v1][c2]overlay=x=0:y=0:eof_action=pass:enable='between(t,2.98,6.98)'[v3]",
      `[2:v]${contain(200, 100)},loop=loop=-1:size=1,trim=end_frame=175,settb=1/25,setpts=N,colorchannelmixer=aa=0.8[c4]`,
      "[v3][c4]overlay=x=1060:y=20:eof_action=pass:enable='between(t,-0.02,6.98)'[v5]",
      '[v5]format=yuv420p[v]',
      // no audio track: silence, so players still see AAC stereo
      'anullsrc=r=48000:cl=stereo,atrim=end_sample=336000[a]',
    ]);
  });

  it('draws a text clip centred in its rect with escaped text, fades on output frame numbers and a box', () => {
    const { graph } = build({
      version: 1,
      duration: 5,
      tracks: [
        {
          clips: [
            {
              type: 'text',
              text: "It's 100%: a, b; [c] \\ d",
              start: 1,
              duration: 3,
              fadeIn: 0.5,
              fadeOut: 0.5,
              fontSize: 40,
              color: '#FFEE00',
              boxColor: '#202020',
              opacity: 0.9,
              position: { x: 100, y: 600, width: 1080, height: 100 },
            },
          ],
        },
      ],
    });
    // the escaped `;` stays inside the filter, so look at the whole graph rather than split chains
    expect(graph).toContain(
      ';[base]drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:expansion=none:' +
        "text=It\\\\\\'s 100%\\\\: a\\, b\\; \\[c\\] \\\\\\\\ d:fontsize=40:fontcolor=0xffee00:" +
        'x=100+(1080-text_w)/2:y=600+(100-text_h)/2:box=1:boxcolor=0x202020:boxborderw=13:' +
        "alpha='0.9*clip((n-30)/15,0,1)*clip((90-(n-30))/15,0,1)':enable='between(n,30,119)'[v0]",
    );
  });

  it('loops a music bed at -25 dB, ducked under the voice track, and mixes without normalising, to the sample', () => {
    const { input, chains } = build({
      version: 1,
      duration: 20,
      audio: [
        { name: 'voice', source: { key: 'voice.wav' }, start: 2 },
        {
          name: 'music',
          source: { key: 'music.mp3' },
          loop: true,
          gainDb: -25,
          trimStart: 1.5,
          fadeOut: 2,
          duck: { under: 'voice', amountDb: 12 },
        },
      ],
    });
    expect(inputOptions(input)).toEqual([
      ['/media/voice.wav', ['-t', '18']],
      ['/media/music.mp3', ['-stream_loop', '-1', '-ss', '1.5', '-t', '20']],
    ]);
    expect(chains).toContain(
      '[0:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,' +
        'adelay=delays=96000S:all=1,apad=whole_len=960000,atrim=end_sample=960000,asplit=2[a_voice_mix][a_voice_key0]',
    );
    expect(chains).toContain(
      '[1:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,' +
        'volume=-25dB,afade=t=out:st=18:d=2,apad=whole_len=960000,atrim=end_sample=960000[a_music_mix]',
    );
    const duck = chains.find((c) => c.includes('sidechaincompress'))!;
    expect(duck).toMatch(
      /^\[a_music_mix\]\[a_voice_key0\]sidechaincompress=threshold=[\d.]+:ratio=20:attack=50:release=600:makeup=1\[a_music_ducked\]$/,
    );
    // 12 dB under speech at -20 dBFS: threshold ≈ -32.6 dBFS
    const threshold = Number(/threshold=([\d.]+)/.exec(duck)![1]);
    expect(20 * Math.log10(threshold)).toBeCloseTo(-20 - 12 / 0.95, 1);
    expect(chains.at(-1)).toBe(
      '[a_voice_mix][a_music_ducked]amix=inputs=2:duration=longest:dropout_transition=0:normalize=0,' +
        'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a]',
    );
  });

  it('makes colour clips and silence from filters, with no input files', () => {
    const { args, chains } = build({
      version: 1,
      background: '#102030',
      tracks: [
        {
          clips: [
            {
              type: 'color',
              color: '#ff0000',
              start: 1,
              duration: 2,
              position: { x: 10, y: 10, width: 100, height: 50 },
            },
          ],
        },
      ],
    });
    expect(args).not.toContain('-i');
    expect(chains).toEqual([
      'color=c=0x102030:s=1280x720:r=30,trim=end_frame=90,format=yuv420p[base]',
      'color=c=0xff0000:s=100x50:r=30,trim=end_frame=60,format=yuva420p,settb=1/30,setpts=N,setpts=PTS+30[c0]',
      "[base][c0]overlay=x=10:y=10:eof_action=pass:enable='between(t,0.983333,2.983333)'[v1]",
      '[v1]format=yuv420p[v]',
      'anullsrc=r=48000:cl=stereo,atrim=end_sample=144000[a]',
    ]);
  });

  it('loops and trims a video clip from its source', () => {
    const { input } = build({
      version: 1,
      tracks: [
        {
          clips: [
            {
              type: 'video',
              source: { key: 'v.mp4' },
              start: 0,
              duration: 9,
              trimStart: 2,
              loop: true,
              volume: 0,
            },
          ],
        },
      ],
    });
    expect(inputOptions(input)).toEqual([['/media/v.mp4', ['-stream_loop', '-1', '-ss', '2', '-t', '9']]]);
  });

  it('mixes a video clip’s own sound by its volume, faded into the next clip over their transition', () => {
    const { input, chains } = build(
      {
        version: 1,
        duration: 6,
        tracks: [
          {
            clips: [
              {
                type: 'video',
                source: { key: 'a.mp4' },
                start: 0,
                duration: 4,
                volume: 0.5,
                fadeIn: 0.5,
                transition: { type: 'fade', duration: 1 },
              },
              { type: 'video', source: { key: 'b.mp4' }, start: 3, duration: 3, trimStart: 2 },
              {
                type: 'video',
                source: { key: 'mute.mp4' },
                start: 0,
                duration: 1,
                position: { anchor: 'center', scale: 0.2 },
              },
            ],
          },
          { clips: [{ type: 'video', source: { key: 'quiet.mp4' }, start: 0, duration: 6, volume: 0 }] },
        ],
        audio: [{ name: 'music', source: { key: 'm.mp3' }, gainDb: -20 }],
      },
      { sources: (key) => (key === 'mute.mp4' ? { hasAudio: false } : { hasAudio: true }) },
    );
    const opts = inputOptions(input);
    // each clip's sound has its own input, opened the same way in a whole and an audio-only render
    expect(opts.slice(-2)).toEqual([
      ['/media/a.mp4', ['-t', '4']],
      ['/media/b.mp4', ['-ss', '2', '-t', '3']],
    ]);
    const a = opts.length - 2;
    const sounds = chains.map((c) => c.replace(/\[as\d+\]/g, '[as]'));
    expect(sounds).toContain(
      `[${a}:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=end_sample=192000,` +
        // 0.5 s fade-in, then 1 s out where the transition starts (at 3 s)
        'volume=0.5,afade=t=in:ss=0:ns=24000,afade=t=out:ss=144000:ns=48000,apad=whole_len=288000,atrim=end_sample=288000[as]',
    );
    expect(sounds).toContain(
      `[${a + 1}:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=end_sample=144000,` +
        'afade=t=in:ss=0:ns=48000,adelay=delays=144000S:all=1,apad=whole_len=288000,atrim=end_sample=288000[as]',
    );
    // no sound from the silent file or the muted clip
    expect(sounds.at(-1)).toBe(
      '[a_music_mix][as][as]amix=inputs=3:duration=longest:dropout_transition=0:normalize=0,' +
        'aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a]',
    );
  });

  it('blends two clips by xfade only over their overlap, each drawn from its own clock around it', () => {
    const { input, chains } = build({
      version: 1,
      duration: 6,
      tracks: [
        {
          clips: [
            {
              type: 'video',
              source: { key: 'a.mp4' },
              start: 0,
              duration: 4,
              volume: 0,
              transition: { type: 'slideleft', duration: 1 },
            },
            {
              type: 'image',
              source: { key: 'b.png' },
              start: 3,
              duration: 3,
              position: { x: 100, y: 50, width: 640, height: 360 },
            },
          ],
        },
      ],
    });
    expect(inputOptions(input)).toEqual([
      ['/media/a.mp4', ['-t', '3']],
      // the transition's piece of a.mp4 starts 3 s in: read from 2 s before it, time stamps restored
      ['/media/a.mp4', ['-ss', '1', '-itsoffset', '1']],
      ['/media/b.png', ['-framerate', '30']],
      ['/media/b.png', ['-framerate', '30']],
    ]);
    const full = contain(1280, 720);
    expect(chains.slice(1, -2)).toEqual([
      // a alone: its frames 0..89
      `[0:v]fps=30:start_time=0,tpad=stop=-1:stop_mode=clone,trim=start_pts=0:end_pts=90,${full},settb=1/30,setpts=N[c0]`,
      "[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.016667,2.983333)'[v1]",
      // the blend: a's frames 90..119 and b's 0..29, in their bounding box (yuva444p for xfade)
      `[1:v]fps=30:start_time=1,tpad=stop=-1:stop_mode=clone,trim=start_pts=90:end_pts=120,${full},settb=1/30,setpts=N+90,` +
        'format=yuva444p,setpts=PTS-STARTPTS[c2]',
      `[2:v]${contain(640, 360)},loop=loop=-1:size=1,trim=end_frame=30,settb=1/30,setpts=N,` +
        'format=yuva444p,pad=1280:720:100:50:color=black@0,setpts=PTS-STARTPTS[c3]',
      '[c2][c3]xfade=transition=slideleft:duration=1:offset=0,setpts=PTS+90[x4]',
      "[v1][x4]overlay=x=0:y=0:eof_action=pass:enable='between(t,2.983333,3.983333)'[v5]",
      // b alone: its frames 30..89, at output frames 120..179
      `[3:v]${contain(640, 360)},loop=loop=-1:size=1,trim=end_frame=60,settb=1/30,setpts=N+30,setpts=PTS+90[c6]`,
      "[v5][c6]overlay=x=100:y=50:eof_action=pass:enable='between(t,3.983333,5.983333)'[v7]",
    ]);
  });

  it('draws a waveform of a track where the track plays, and of a file from its trim, 48000/fps samples a frame', () => {
    const { input, chains } = build({
      version: 1,
      output: { width: 320, height: 180 },
      tracks: [
        {
          clips: [
            {
              type: 'waveform',
              track: 'call',
              start: 1,
              duration: 4,
              channel: 'left',
              style: 'p2p',
              color: '#00ff88',
              amplitude: 'log',
              position: { anchor: 'bottom', scale: 0.5 },
            },
            {
              type: 'waveform',
              source: { key: 'v.wav' },
              trimStart: 2.5,
              start: 0,
              duration: 2,
              position: { x: 0, y: 0, width: 100, height: 40 },
            },
          ],
        },
      ],
      audio: [{ name: 'call', source: { key: 'call.wav' }, start: 0.5, trimStart: 3 }],
    });
    expect(inputOptions(input)).toEqual([
      // the call plays from 3 s of its file at 0.5 s: the waveform at 1 s shows the file at 3.5 s
      ['/media/call.wav', ['-ss', '3.5', '-t', '4']],
      ['/media/v.wav', ['-ss', '2.5', '-t', '2']],
      ['/media/call.wav', ['-ss', '3', '-t', '4.5']],
    ]);
    expect(chains.slice(1, 5)).toEqual([
      // 1600 samples a frame: 160 columns of 10 samples, the bottom half of a 320×180 frame
      '[0:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,pan=mono|c0=c0,' +
        'apad,atrim=start_sample=0:end_sample=192000,showwaves=s=160x90:mode=p2p:n=10:rate=30:colors=0x00ff88:scale=log,' +
        'scale=160:90,format=yuva420p,setsar=1,settb=1/30,setpts=N,setpts=PTS+30[c0]',
      "[base][c0]overlay=x=80:y=90:eof_action=pass:enable='between(t,0.983333,4.983333)'[v1]",
      // 100 px wide: 100 columns of 16 samples
      '[1:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,pan=mono|c0=0.5*c0+0.5*c1,' +
        'apad,atrim=start_sample=0:end_sample=96000,showwaves=s=100x40:mode=cline:n=16:rate=30:colors=0xffffff:scale=sqrt,' +
        'scale=100:40,format=yuva420p,setsar=1,settb=1/30,setpts=N[c2]',
      "[v1][c2]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.016667,1.983333)'[v3]",
    ]);
    expect(() =>
      build({
        version: 1,
        output: { fps: 7 },
        duration: 1,
        tracks: [{ clips: [{ type: 'waveform', source: { key: 'v.wav' }, start: 0, duration: 1 }] }],
      }),
    ).toThrow(
      new UnsupportedTimelineError(
        'tracks[0].clips[0]',
        'a waveform needs a frame rate that divides 48000 (output.fps is 7)',
      ),
    );
  });

  const chunked: TimelineInput = {
    version: 1,
    output: { width: 320, height: 180 },
    duration: 8,
    tracks: [
      {
        clips: [
          {
            type: 'image',
            source: { key: 'a.jpg' },
            start: 0,
            duration: 8,
            fit: 'cover',
            fadeOut: 1,
            motion: { type: 'kenburns', from: { zoom: 1, x: 0.5, y: 0.5 }, to: { zoom: 1.5, x: 0, y: 1 } },
          },
        ],
      },
      {
        clips: [
          {
            type: 'video',
            source: { key: 'v.mp4' },
            trimStart: 1,
            start: 1,
            duration: 7,
            position: { anchor: 'topRight', scale: 0.5 },
          },
        ],
      },
      { clips: [{ type: 'text', text: 'Hi', start: 2, duration: 6, fadeOut: 0.5 }] },
    ],
    audio: [{ name: 'music', source: { key: 'm.mp3' } }],
  };

  it('renders a window (a chunk) video-only, every clip continued on its own clock', () => {
    const Z = '(1+0.5*(in+150)/239)';
    const LEFT = `(W-W/${Z})*(0.5+-0.5*(in+150)/239)`;
    const TOP = `(H-H/${Z})*(0.5+0.5*(in+150)/239)`;
    const { input, chains, out, frames } = build(chunked, {
      window: { startFrame: 150, frameCount: 60 },
      streams: 'video',
    });
    expect(frames).toBe(60);
    // no audio inputs: the chunk is picture only; the video seeks 2 s before frame 120 of its clip
    expect(inputOptions(input)).toEqual([
      ['/media/a.jpg', ['-framerate', '30']],
      ['/media/v.mp4', ['-ss', '3', '-itsoffset', '2']],
    ]);
    expect(chains).toEqual([
      'color=c=0x000000:s=320x180:r=30,trim=end_frame=60,format=yuv420p[base]',
      // the Ken Burns path and the fade-out at frame 150 of 240
      // (zoom 1.5: fitted ×1.5, 480×270, and each frame scaled down)
      '[0:v]scale=480:270:force_original_aspect_ratio=increase,crop=480:270,setsar=1,format=yuv420p,loop=loop=-1:size=1,trim=end_frame=60,' +
        `perspective=x0='${LEFT}':y0='${TOP}':x1='${LEFT}+W/${Z}':y1='${TOP}':x2='${LEFT}':y2='${TOP}+H/${Z}':` +
        `x3='${LEFT}+W/${Z}':y3='${TOP}+H/${Z}':interpolation=linear:sense=source:eval=frame,scale=320:180,format=yuva420p,` +
        'settb=1/30,setpts=N+150,fade=t=out:st=7:d=1:alpha=1,setpts=PTS-150[c0]',
      "[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.016667,1.983333)'[v1]",
      // time stamps as in the whole render (-ss − -itsoffset = the trim), fps on that grid from 2 s, frames 120..179
      `[1:v]fps=30:start_time=2,tpad=stop=-1:stop_mode=clone,trim=start_pts=120:end_pts=180,${contain(160, 90)},` +
        'settb=1/30,setpts=N+120,setpts=PTS-120[c2]',
      "[v1][c2]overlay=x=160:y=0:eof_action=pass:enable='between(t,-0.016667,1.983333)'[v3]",
      // the text at frame 90 of 180: fading out over its last 15
      '[v3]drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:expansion=none:text=Hi:fontsize=48:fontcolor=0xffffff:' +
        "x=0+(320-text_w)/2:y=0+(180-text_h)/2:alpha='clip((180-(n+90))/15,0,1)':enable='between(n,0,59)'[v4]",
      '[v4]format=yuv420p[v]',
    ]);
    // picture only, no faststart (the join adds it)
    expect(out).toEqual(H264_AAC(30).slice(0, 14).concat('/out/final.mp4'));
    // a window is the chunk's sub-Timeline
    expect(
      build(chunkTimeline({ timeline: chunked, startFrame: 150, frameCount: 60 }), { streams: 'video' }).args,
    ).toEqual(build(chunked, { window: { startFrame: 150, frameCount: 60 }, streams: 'video' }).args);
  });

  it('renders the whole audio alone with the same chains as the whole render', () => {
    const whole = build(chunked, { sources: () => ({ hasAudio: true }) });
    const audio = build(chunked, { streams: 'audio', sources: () => ({ hasAudio: true }) });
    // only the sound's inputs: the music and the video's own sound (opened exactly as in the whole render)
    expect(inputOptions(audio.input)).toEqual([
      ['/media/m.mp3', ['-t', '8']],
      ['/media/v.mp4', ['-ss', '1', '-t', '7']],
    ]);
    expect(inputOptions(whole.input).slice(-2)).toEqual(inputOptions(audio.input));
    const renumber = (chains: string[], from: number) =>
      chains
        .filter((c) => /^\[\d+:a\]|amix/.test(c))
        .map((c) => c.replace(/^\[(\d+):a\]/, (_, i) => `[${Number(i) - from}:a]`).replace(/as\d+/g, 'as'));
    expect(renumber(audio.chains, 0)).toEqual(renumber(whole.chains, 2));
    expect(audio.chains.some((c) => c.includes('[v]'))).toBe(false);
    expect(audio.out).toEqual([
      '-map',
      '[a]',
      '-c:a',
      'aac',
      '-profile:a',
      'aac_low',
      '-b:a',
      '128k',
      '-ar',
      '48000',
      '-ac',
      '2',
      '/out/final.mp4',
    ]);
  });

  it('renders a preview at 480p, 15 fps, superfast, and losslessly for exactness tests', () => {
    const preview = build({ ...callLayout, output: { width: 1920, height: 1080, preset: 'preview' } });
    expect(preview.chains[0]).toBe('color=c=0x000000:s=854x480:r=15,trim=end_frame=188,format=yuv420p[base]');
    // the halves, authored for 1920×1080, scaled with the frame
    expect(preview.chains[2]).toBe(
      "[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,-0.033333,12.5)'[v1]",
    );
    expect(preview.chains[4]).toMatch(/^\[v1\]\[c2\]overlay=x=284:y=0/);
    expect(after(preview.out, '-preset')).toBe('superfast');
    expect(after(preview.out, '-r')).toBe('15');
    const lossless = build(callLayout, { lossless: true });
    expect(lossless.out.slice(0, 12)).toEqual([
      '-map',
      '[v]',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'veryfast',
      '-qp',
      '0',
      '-r',
      '30',
    ]);
  });

  it("builds the README's example Timeline", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(readme)![1]!) as TimelineInput;
    const { frames, chains } = build(example);
    expect(frames).toBe(240);
    expect(chains.filter((c) => c.includes('xfade=transition=slideleft:duration=0.5:offset=0'))).toHaveLength(
      1,
    );
    expect(chains.filter((c) => c.includes('showwaves='))).toHaveLength(1);
  });

  it('refuses Ken Burns on a video clip, naming the field', () => {
    expect(() =>
      build({
        version: 1,
        tracks: [
          { clips: [] },
          {
            clips: [
              {
                type: 'video',
                source: { key: 'v.mp4' },
                start: 0,
                duration: 2,
                motion: { type: 'kenburns', from: { zoom: 1, x: 0, y: 0 }, to: { zoom: 2, x: 1, y: 1 } },
              },
            ],
          },
        ],
      }),
    ).toThrow(
      new UnsupportedTimelineError(
        'tracks[1].clips[0].motion',
        'Ken Burns motion is only supported on image clips',
      ),
    );
  });
});
