import { z } from 'zod';
import { BlobKey, HttpUrl } from '../common.ts';
import { defineEvent } from '../envelope.ts';

/** A blob key, or an https URL to fetch. */
export const MediaSource = z.union([z.object({ key: BlobKey }), z.object({ url: HttpUrl })]);

export const MusicMood = z.enum(['adventurous', 'family', 'nostalgic', 'reflective', 'none']);

/** A spoken story (plus images, music and brand) should become a slideshow video. */
export const StoryReceivedV1 = defineEvent({
  type: 'story.received',
  version: 1,
  description:
    'A recorded story with its images, music choice and brand should become a branded slideshow video.',
  data: z.object({
    audio: MediaSource,
    userPhoto: MediaSource.optional(),
    images: z.array(MediaSource).max(100).default([]),
    storyteller: z.string().max(200).optional(),
    title: z.string().max(500).optional(),
    music: z
      .object({
        mood: MusicMood.default('family'),
        gainDb: z.number().min(-60).max(0).default(-25),
        duck: z.boolean().default(false),
      })
      .prefault({}),
    brand: z
      .object({
        logo: MediaSource.optional(),
        background: z
          .string()
          .regex(/^#[0-9a-fA-F]{6}$/)
          .default('#f3e9dc'),
        introSeconds: z.number().min(0).max(30).default(3),
        outroSeconds: z.number().min(0).max(30).default(2),
      })
      .prefault({}),
    backend: z.enum(['ffmpeg', 'mediaconvert']).optional(),
    allowDegradation: z.boolean().default(false),
    callbackUrl: HttpUrl.optional(),
  }),
});
