import { describe, expect, it } from 'vitest';
import type { TimelineInput } from '@reelbus/contracts';
import { buildRenderArgs, escapeFilterValue, UnsupportedTimelineError } from './filtergraph.ts';

const inputs = (key: string) => `/media/${key}`;

function build(timeline: TimelineInput, extra: { preset?: string } = {}) {
  const r = buildRenderArgs({ timeline, inputs, output: '/out/final.mp4', ...extra });
  const graph = r.args[r.args.indexOf('-filter_complex') + 1]!;
  return { ...r, graph, chains: graph.split(';') };
}

/** The flags that directly precede each `-i`, keyed by the input file. */
function inputOptions(args: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let from = 0;
  args.forEach((a, i) => {
    if (a === '-i') {
      out.set(args[i + 1]!, args.slice(from, i));
      from = i + 2;
    }
  });
  return out;
}

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

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
        },
        {
          type: 'video',
          source: { key: 'jobs/j1/clips/callee.mp4' },
          start: 0,
          duration: 12.5,
          position: { x: 640, y: 0, width: 640, height: 720 },
        },
      ],
    },
  ],
  audio: [{ name: 'call', source: { key: 'jobs/j1/input/recording.wav' } }],
  duration: 12.5,
};

describe('buildRenderArgs', () => {
  it('renders a call layout as two letterboxed halves over a colour base, with the call audio, in one H.264/AAC encode', () => {
    const { args, graph, chains, durationSec } = build(callLayout);
    expect(durationSec).toBe(12.5);
    expect([...inputOptions(args).entries()]).toEqual([
      ['/media/jobs/j1/clips/caller.mp4', ['-t', '12.5']],
      ['/media/jobs/j1/clips/callee.mp4', ['-t', '12.5']],
      ['/media/jobs/j1/input/recording.wav', ['-t', '12.5']],
    ]);
    expect(chains[0]).toBe('color=c=0x000000:s=1280x720:r=30:d=12.5,format=yuv420p[base]');
    // contain: scaled inside the half, padded with transparency so the base shows through the letterbox
    expect(chains[1]).toBe(
      '[0:v]fps=30,scale=640:720:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuva420p,' +
        'pad=640:720:(ow-iw)/2:(oh-ih)/2:color=black@0,tpad=stop_mode=clone:stop_duration=12.5,trim=duration=12.5,' +
        'setpts=PTS-STARTPTS+0/TB[c0]',
    );
    expect(chains[2]).toBe("[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,0,12.5)'[v0]");
    expect(chains[4]).toBe("[v0][c1]overlay=x=640:y=0:eof_action=pass:enable='between(t,0,12.5)'[v1]");
    expect(chains[5]).toBe('[v1]format=yuv420p[v]');
    expect(graph).toContain(
      '[2:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo',
    );
    expect(graph).not.toContain('amix'); // one track: nothing to mix
    expect(graph).not.toContain('volume=');
    expect(chains.at(-1)).toMatch(/\[a\]$/);

    const output = args.slice(args.indexOf('-map'));
    expect(output).toEqual([
      '-map',
      '[v]',
      '-map',
      '[a]',
      '-c:v',
      'libx264',
      '-profile:v',
      'high',
      '-pix_fmt',
      'yuv420p',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-r',
      '30',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-ar',
      '48000',
      '-ac',
      '2',
      '-movflags',
      '+faststart',
      '-t',
      '12.5',
      '/out/final.mp4',
    ]);
    // exactly one lossy encode: one output, one video and one audio encoder
    expect(args.filter((a) => a === '-c:v')).toHaveLength(1);
    expect(args.filter((a) => a === '-c:a')).toHaveLength(1);
  });

  it('uses the preset override and a constrained bitrate when the timeline asks for one', () => {
    const { args } = build(
      { ...callLayout, output: { video: { bitrateKbps: 4000 } } },
      { preset: 'ultrafast' },
    );
    // ultrafast would silently make Constrained Baseline; superfast keeps High
    expect(after(args, '-preset')).toBe('superfast');
    expect(args).not.toContain('-crf');
    expect(after(args, '-b:v')).toBe('4000k');
    expect(after(args, '-maxrate')).toBe('4000k');
    expect(after(args, '-bufsize')).toBe('8000k');
  });

  it('renders a slideshow with smooth Ken Burns, an alpha crossfade and a logo at opacity 0.8', () => {
    const { args, chains } = build({
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
    const opts = inputOptions(args);
    // Ken Burns images are one decoded frame that zoompan expands; the logo loops at the output rate
    expect(opts.get('/media/a.jpg')).toEqual([]);
    expect(opts.get('/media/b.jpg')).toEqual([]);
    expect(opts.get('/media/logo.png')).toEqual(['-loop', '1', '-framerate', '25', '-t', '7']);
    expect(after(args, '-t')).toBe('7'); // first -t is the logo input's
    expect(args.at(-2)).toBe('7');

    const [, first, overlay0, second, overlay1, logo, overlay2] = chains;
    // oversampled ×4 before zoompan so crop steps are sub-pixel at the output size
    expect(first).toContain('[0:v]scale=5120:2880:force_original_aspect_ratio=increase,crop=5120:2880');
    expect(first).toContain(
      "zoompan=z='(1+0.25*on/99)':x='(iw-iw/zoom)*(0.5+-0.3*on/99)':y='(ih-ih/zoom)*(0.5+0.3*on/99)':d=100:s=1280x720:fps=25",
    );
    expect(first).toContain('fade=t=out:st=3:d=1:alpha=1');
    expect(first).toMatch(/setpts=PTS-STARTPTS\+0\/TB\[c0\]$/);
    expect(overlay0).toBe("[base][c0]overlay=x=0:y=0:eof_action=pass:enable='between(t,0,4)'[v0]");
    expect(second).toContain("zoompan=z='(1.3+-0.3*on/99)'");
    expect(second).toContain('fade=t=in:st=0:d=1:alpha=1');
    expect(second).toMatch(/setpts=PTS-STARTPTS\+3\/TB\[c1\]$/);
    expect(overlay1).toBe("[v0][c1]overlay=x=0:y=0:eof_action=pass:enable='between(t,3,7)'[v1]");
    expect(logo).toBe(
      '[2:v]scale=200:100:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1,format=yuva420p,' +
        'pad=200:100:(ow-iw)/2:(oh-ih)/2:color=black@0,colorchannelmixer=aa=0.8,setpts=PTS-STARTPTS+0/TB[c2]',
    );
    expect(overlay2).toBe("[v1][c2]overlay=x=1060:y=20:eof_action=pass:enable='between(t,0,7)'[v2]");
    // no audio track: silence, so players still see AAC stereo
    expect(chains).toContain('anullsrc=r=48000:cl=stereo,atrim=duration=7[a]');
  });

  it('draws a text clip centred in its rect with escaped text, fades and a box', () => {
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
        "alpha='0.9*clip((t-1)/0.5,0,1)*clip((4-t)/0.5,0,1)':enable='between(t,1,4)'[v0]",
    );
  });

  it('escapes filter values for both the option parser and the graph parser', () => {
    expect(escapeFilterValue('a:b')).toBe('a\\\\:b');
    expect(escapeFilterValue("it's")).toBe("it\\\\\\'s");
    expect(escapeFilterValue('x,y;[z]')).toBe('x\\,y\\;\\[z\\]');
    expect(escapeFilterValue('plain text')).toBe('plain text');
  });

  it('loops a music bed at -25 dB, ducked under the voice track, and mixes without normalising', () => {
    const { args, chains } = build({
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
    const opts = inputOptions(args);
    expect(opts.get('/media/voice.wav')).toEqual(['-t', '18']);
    expect(opts.get('/media/music.mp3')).toEqual(['-stream_loop', '-1', '-ss', '1.5', '-t', '20']);
    expect(chains).toContain(
      '[0:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,' +
        'adelay=delays=2000:all=1,apad=whole_dur=20,atrim=duration=20,asplit=2[a_voice_mix][a_voice_key0]',
    );
    expect(chains).toContain(
      '[1:a]asetpts=PTS-STARTPTS,aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,' +
        'volume=-25dB,afade=t=out:st=18:d=2,apad=whole_dur=20,atrim=duration=20[a_music_mix]',
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

  it('gives a timeline without audio tracks a silent stereo track for its whole length', () => {
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
    expect(args).not.toContain('-i'); // colour and silence come from filters, no input files
    expect(chains[0]).toBe('color=c=0x102030:s=1280x720:r=30:d=3,format=yuv420p[base]');
    expect(chains[1]).toBe('color=c=0xff0000:s=100x50:r=30:d=2,format=yuva420p,setpts=PTS-STARTPTS+1/TB[c0]');
    expect(chains.at(-1)).toBe('anullsrc=r=48000:cl=stereo,atrim=duration=3[a]');
    expect(after(args, '-c:a')).toBe('aac');
    expect(after(args, '-ac')).toBe('2');
    expect(after(args, '-t')).toBe('3');
  });

  it('loops and trims a video clip from its source', () => {
    const { args } = build({
      version: 1,
      tracks: [
        {
          clips: [
            { type: 'video', source: { key: 'v.mp4' }, start: 0, duration: 9, trimStart: 2, loop: true },
          ],
        },
      ],
    });
    expect(inputOptions(args).get('/media/v.mp4')).toEqual(['-stream_loop', '-1', '-ss', '2', '-t', '9']);
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
