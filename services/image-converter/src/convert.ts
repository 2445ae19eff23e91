import sharp, { type SharpOptions } from 'sharp';

/**
 * The size images are converted to: they COVER the 1920×1080 frame with 20 % headroom on each axis
 * (2304×1296), so the compositor's Ken Burns motion (zoom up to 1.2×, or a pan of up to 384 px
 * across / 216 px down) never has to upscale past the converted pixels. Aspect ratio is kept (no
 * crop) up to `maxSide`, so a portrait user photo keeps its face; the compositor frames it.
 */
export const FRAME = { width: 1920, height: 1080 } as const;
export const HEADROOM = 1.2;
export const TARGET = {
  width: Math.round(FRAME.width * HEADROOM),
  height: Math.round(FRAME.height * HEADROOM),
};
/** Longest side kept: a panorama or a very tall image is centre-cropped to this (bounds output memory). */
export const MAX_SIDE = 4096;

export interface ResizePlan {
  /** Size after the cover resize (before any crop). */
  resize: { width: number; height: number };
  /** Centre crop applied after the resize when a side exceeds `maxSide`. */
  crop?: { left: number; top: number; width: number; height: number };
  /** The output size. */
  width: number;
  height: number;
}

/**
 * Pure: the resize that makes an upright `width`×`height` image cover `target` (scaling up small
 * images, down large ones, aspect kept), then centre-crops any side longer than `maxSide`.
 */
export function planResize(opts: {
  width: number;
  height: number;
  target?: { width: number; height: number };
  maxSide?: number;
}): ResizePlan {
  const { width, height, target = TARGET, maxSide = MAX_SIDE } = opts;
  const scale = Math.max(target.width / width, target.height / height);
  const resize = {
    width: Math.max(target.width, Math.round(width * scale)),
    height: Math.max(target.height, Math.round(height * scale)),
  };
  const outW = Math.min(resize.width, maxSide);
  const outH = Math.min(resize.height, maxSide);
  if (outW === resize.width && outH === resize.height) return { resize, width: outW, height: outH };
  return {
    resize,
    crop: {
      left: Math.floor((resize.width - outW) / 2),
      top: Math.floor((resize.height - outH) / 2),
      width: outW,
      height: outH,
    },
    width: outW,
    height: outH,
  };
}

export interface ConvertSettings {
  /** Refuse decoding images with more pixels than this (a decompression bomb guard). */
  maxInputPixels: number;
  /** `#rrggbb`: what transparent pixels are flattened onto (the brand background). */
  background: string;
  /** JPEG quality, 1-100. */
  quality: number;
}

export const DEFAULT_CONVERT_SETTINGS: ConvertSettings = {
  maxInputPixels: 100_000_000, // 100 MP: a 50 MP phone photo passes, a bomb does not
  background: '#f3e9dc',
  quality: 88,
};

/**
 * Pure: the options sharp opens an input with. `sequentialRead` lets libvips stream the decode
 * top to bottom instead of holding the whole image (with JPEG shrink-on-load a 50 MP photo is
 * decoded at 1/2–1/8 size); `limitInputPixels` refuses decompression bombs; `failOn: 'error'`
 * rejects undecodable data but tolerates the harmless warnings real cameras produce.
 */
export function inputOptions(opts: { settings: ConvertSettings }): SharpOptions {
  const { settings } = opts;
  return { limitInputPixels: settings.maxInputPixels, sequentialRead: true, failOn: 'error' };
}

/**
 * Process-wide sharp settings for a worker that converts a few images at a time: one libvips
 * thread per image (parallelism comes from converting IMAGE_CONCURRENCY images at once) and no
 * operation cache (every image is new; the cache only holds memory).
 */
export function configureSharpForService(): void {
  sharp.concurrency(1);
  sharp.cache(false);
}

export interface ImageFormatInfo {
  /** sharp's name: jpeg, png, webp, heif, gif, tiff, … */
  format: string;
  /** True for HEIF files whose codec is HEVC (`.heic`), as opposed to AVIF. */
  hevc: boolean;
}

/** True when this sharp build can decode HEIC (HEVC-coded HEIF); prebuilt sharp decodes AVIF only. */
export function heicSupported(): boolean {
  const input = sharp.format.heif?.input as { fileSuffix?: string[]; file?: boolean } | undefined;
  return Boolean(input?.file && input.fileSuffix?.some((s) => s.toLowerCase() === '.heic'));
}

/** Pure: is this file head (≥ 12 bytes) an ISO-BMFF HEIF with an HEVC brand (`heic`, `heix`, `hevc`, …)? */
export function isHeicHead(head: Uint8Array): boolean {
  if (head.length < 12) return false;
  const box = Buffer.from(head.subarray(4, 8)).toString('latin1');
  const brand = Buffer.from(head.subarray(8, 12)).toString('latin1');
  return box === 'ftyp' && ['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis'].includes(brand);
}

export interface ConvertResult {
  width: number;
  height: number;
  /** The input's format (sharp's name). */
  inputFormat: string;
  sizeBytes: number;
}

/**
 * Converts one image file to an upright sRGB JPEG covering TARGET (see planResize): EXIF
 * orientation applied (`rotate()`), alpha flattened onto `settings.background`, metadata stripped.
 * Throws sharp's error for undecodable input or one above `maxInputPixels`.
 */
export async function convertImage(opts: {
  input: string;
  output: string;
  settings?: ConvertSettings;
}): Promise<ConvertResult> {
  const { input, output, settings = DEFAULT_CONVERT_SETTINGS } = opts;
  const meta = await sharp(input, inputOptions({ settings })).metadata();
  if (!meta.width || !meta.height) throw new Error('the image has no dimensions');
  // orientations 5-8 swap width and height once applied
  const swap = (meta.orientation ?? 1) >= 5;
  const upright = swap
    ? { width: meta.height, height: meta.width }
    : { width: meta.width, height: meta.height };
  const plan = planResize(upright);
  let pipeline = sharp(input, inputOptions({ settings }))
    .rotate()
    .resize(plan.resize.width, plan.resize.height, { fit: 'fill', kernel: 'lanczos3' });
  if (plan.crop) pipeline = pipeline.extract(plan.crop);
  const info = await pipeline
    .flatten({ background: settings.background })
    .toColourspace('srgb')
    .jpeg({ quality: settings.quality, chromaSubsampling: '4:2:0', progressive: false })
    .toFile(output);
  return {
    width: info.width,
    height: info.height,
    inputFormat: String(meta.format ?? 'unknown'),
    sizeBytes: info.size,
  };
}
