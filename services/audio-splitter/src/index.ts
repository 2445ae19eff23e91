export { AudioSplitterEnv } from './config.ts';
export { handleRecording, keys, type SplitterSettings } from './handle-recording.ts';
export {
  downloadRecording,
  twilioMediaUrl,
  isTwilioRecording,
  displayUrl,
  backoffDelays,
  type DownloadSettings,
} from './download.ts';
export {
  buildSplitArgs,
  buildSplitFilter,
  splitChannels,
  ROLES_BY_CHANNEL,
  OUTPUT_SAMPLE_RATE,
  type ChannelOutput,
} from './split.ts';
export {
  judgeDecodedAudio,
  lossToleranceSec,
  decodeErrorReason,
  DecodeErrorTally,
  wavDeclaredSec,
  findDecodeGaps,
  assessDecodedAudio,
  MIN_USABLE_SEC,
  type DecodeReport,
  type DamageVerdict,
} from './damage.ts';
