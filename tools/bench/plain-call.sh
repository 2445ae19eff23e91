#!/usr/bin/env bash
# The benchmark's baseline for a call video: the look reelbus makes with its offline (`local`) avatar
# provider, written by hand as ONE plain ffmpeg command, as someone without reelbus would write it.
# Not built from reelbus's code: no split files, no intermediate clips, no probes.
#
#   tools/bench/plain-call.sh call.wav out.mp4 [caller.png callee.png [font.ttf]]
#
# Stereo call (left = caller, right = callee) → 1280×720 30 fps: each half a 640×720 card, the face
# letterboxed on the speaker's colour (640×562), the speaker's own waveform in the speaker's colour on
# a black strip under it (640×158), the label above the strip on a 45 % black box; the call's audio.
# Output settings as reelbus's delivery preset: H.264 High yuv420p, x264 veryfast CRF 23, AAC-LC
# 128 kb/s 48 kHz stereo, moov first. The stills are scaled once (`loop` repeats the fitted frame);
# the video ends with the audio (`shortest`).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
faces="$here/../../services/ai-generator/assets"
in="${1:?usage: plain-call.sh call.wav out.mp4 [caller.png callee.png [font.ttf]]}"
out="${2:?usage: plain-call.sh call.wav out.mp4 [caller.png callee.png [font.ttf]]}"
caller="${3:-$faces/caller.png}"
callee="${4:-$faces/callee.png}"
font="${5:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}"

card() { # <input> <background> <wave colour> <label> <out label>
  echo "[$1:v]scale=640:562:force_original_aspect_ratio=decrease,pad=640:562:(ow-iw)/2:(oh-ih)/2:color=$2,setsar=1,format=yuv420p,loop=loop=-1:size=1[f$5];" \
    "[w$5]showwaves=s=640x158:mode=cline:rate=30:colors=$3,format=yuv420p[s$5];" \
    "[f$5][s$5]vstack=shortest=1,drawtext=fontfile=$font:text=$4:fontsize=40:fontcolor=white:x=(w-text_w)/2:y=562-text_h-24:box=1:boxcolor=black@0.45:boxborderw=13[c$5];"
}

exec ffmpeg -hide_banner -loglevel error -nostdin -y \
  -framerate 30 -i "$caller" -framerate 30 -i "$callee" -i "$in" \
  -filter_complex "[2:a]aresample=48000,asplit=2[mix][waves];[waves]channelsplit=channel_layout=stereo[w0][w1];
$(card 0 0x1f3b5c 0x8fd3ff Caller 0)
$(card 1 0x4b2a5c 0xffb38f Callee 1)
[c0][c1]hstack=shortest=1[v]" \
  -map '[v]' -map '[mix]' -r 30 \
  -c:v libx264 -profile:v high -pix_fmt yuv420p -preset veryfast -crf 23 \
  -c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart "$out"
