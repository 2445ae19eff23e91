export {
  DEFAULT_LADDER,
  avc1Codec,
  buildHlsArgs,
  fixTargetDuration,
  hlsLadder,
  masterPlaylist,
  mediaSegments,
  mp4aCodec,
} from './ladder.ts';
export type { HlsOptions, Rendition, Rung, VariantInfo } from './ladder.ts';
export { HLS_CONTENT_TYPES, hlsPrefix, packageHls, packageHlsOfBlob } from './package.ts';
