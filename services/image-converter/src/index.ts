export { ImageConverterEnv, toImageConverterSettings } from './config.ts';
export { handleStoryImages, keys, mapBounded, type ImageConverterSettings } from './handle-story.ts';
export {
  withImageFile,
  describeSource,
  ImageUnavailableError,
  type ImageFetchSettings,
} from './fetch-image.ts';
export {
  convertImage,
  planResize,
  inputOptions,
  configureSharpForService,
  heicSupported,
  isHeicHead,
  TARGET,
  FRAME,
  HEADROOM,
  MAX_SIDE,
  DEFAULT_CONVERT_SETTINGS,
  type ConvertSettings,
  type ConvertResult,
  type ResizePlan,
} from './convert.ts';
