import { describe, expect, it } from 'vitest';
import type { ModelInfo } from '../api/types.ts';
import { newSectionDraft, reelBodyFrom, reelControls, withModel } from './draft.ts';

const video: ModelInfo = {
  id: 'local-video',
  type: 'video',
  provider: 'local',
  ref: 'local/video',
  params: {
    type: 'object',
    required: ['prompt'],
    properties: {
      prompt: { type: 'string', minLength: 1 },
      duration: { type: 'number', default: 4 },
    },
  },
  pricing: { unit: 'run', price: 0 },
  estimatedTimeSec: 2,
};
const avatar: ModelInfo = {
  ...video,
  id: 'local-avatar',
  type: 'avatar',
  params: { type: 'object', properties: { audio: { type: 'string' } } },
};

describe('the new-reel form', () => {
  it('starts a section with its model’s defaults, and a new model replaces them', () => {
    const d = newSectionDraft(7, video);
    expect(d).toEqual({ key: 7, title: '', model: 'local-video', values: { prompt: '', duration: '4' } });
    expect(withModel(d, avatar)).toEqual({ key: 7, title: '', model: 'local-avatar', values: { audio: '' } });
  });

  it('makes the POST /v1/reels body: titles trimmed and left out when empty, params typed', () => {
    const one = {
      ...newSectionDraft(1, video),
      title: ' Intro ',
      values: { prompt: 'dawn', duration: '1.5' },
    };
    const two = { ...newSectionDraft(2, video), values: { prompt: 'dusk', duration: '4' } };
    expect(reelBodyFrom({ title: ' Trip ', sections: [one, two], models: [video] })).toEqual({
      body: {
        title: 'Trip',
        sections: [
          { title: 'Intro', model: 'local-video', params: { prompt: 'dawn', duration: 1.5 } },
          { model: 'local-video', params: { prompt: 'dusk', duration: 4 } },
        ],
      },
      issues: [],
    });
  });

  it('names every field it cannot send as the API would, and each lands on its control', () => {
    const one = { ...newSectionDraft(1, video), values: { prompt: '', duration: 'soon' } };
    const two = { ...newSectionDraft(5, undefined) };
    const { issues } = reelBodyFrom({ title: '', sections: [one, two], models: [video] });
    expect(issues).toEqual([
      { field: 'title', message: 'is required' },
      { field: 'sections[0].params.prompt', message: 'is required' },
      { field: 'sections[0].params.duration', message: 'must be a number' },
      { field: 'sections[1].model', message: 'choose a model' },
    ]);
    const controls = reelControls([one, two], [video]);
    expect(controls).toContainEqual({
      control: 'section-1-param-duration',
      fields: ['sections[0].params.duration'],
    });
    expect(controls).toContainEqual({
      control: 'section-5-model',
      fields: ['sections[1].model', 'sections[1]'],
    });
  });
});
