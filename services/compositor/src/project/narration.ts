/**
 * The narration track: every scene's voiceover placed at its scene's start (sample-exact `adelay`),
 * mixed without level changes (`normalize=0`: voiceovers never overlap, each keeps its loudness) and
 * padded or cut to the video's length, as 48 kHz stereo PCM. Pure: returns ffmpeg's arguments.
 */
export const NARRATION_SAMPLE_RATE = 48_000;

export function buildNarrationArgs(opts: {
  inputs: Array<{ file: string; startSec: number }>;
  durationSec: number;
  output: string;
}): string[] {
  const { inputs, durationSec, output } = opts;
  if (inputs.length === 0) throw new Error('buildNarrationArgs: no voiceovers');
  const SR = NARRATION_SAMPLE_RATE;
  const total = Math.round(durationSec * SR);
  const chains = inputs.map((inp, i) => {
    const delay = Math.round(inp.startSec * SR);
    return (
      `[${i}:a]aresample=${SR},aformat=sample_fmts=fltp:channel_layouts=stereo` +
      (delay > 0 ? `,adelay=delays=${delay}S:all=1` : '') +
      `[v${i}]`
    );
  });
  const labels = inputs.map((_, i) => `[v${i}]`).join('');
  const mix =
    inputs.length === 1
      ? `${labels}apad,atrim=end_sample=${total}[out]`
      : `${labels}amix=inputs=${inputs.length}:duration=longest:dropout_transition=0:normalize=0,apad,atrim=end_sample=${total}[out]`;
  return [
    ...inputs.flatMap((inp) => ['-i', inp.file]),
    '-filter_complex',
    [...chains, mix].join(';'),
    '-map',
    '[out]',
    '-ar',
    String(SR),
    '-ac',
    '2',
    '-c:a',
    'pcm_s16le',
    output,
  ];
}
