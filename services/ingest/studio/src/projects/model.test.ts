import { describe, expect, it } from 'vitest';
import type { Scene } from '../api/projects.ts';
import { placeIssues } from '../forms/fields.ts';
import { ApiError } from '../api/errors.ts';
import {
  historyShortcut,
  parseSpec,
  phaseRows,
  phaseSummary,
  quickProject,
  sceneChanges,
  sceneControl,
  sceneControls,
  sceneDraft,
  visualFromDraft,
  volumeDb,
} from './model.ts';

const scene = (over: Partial<Scene> = {}): Scene => ({
  id: 's1',
  narration: 'Hello.',
  visual: { model: 'local-image', params: { prompt: 'a harbour', seed: 3 } },
  voiceTake: 0,
  ...over,
});

describe('phaseRows', () => {
  it('marks the phases before the current one done, says where preparing and rendering are', () => {
    const preparing = phaseRows({
      status: 'running',
      progressDetail: { phase: 'preparing', message: 'voiceovers 1 of 3, visuals 0 of 3' },
    });
    expect(preparing.map((r) => r.state)).toEqual(['current', 'pending', 'pending', 'pending', 'pending']);
    expect(phaseSummary(preparing)).toBe('Preparing: voiceovers 1 of 3, visuals 0 of 3');

    const rendering = phaseRows({
      status: 'running',
      progressDetail: { phase: 'rendering', chunks: { done: 1, total: 4 } },
    });
    expect(rendering.map((r) => r.state)).toEqual(['done', 'current', 'pending', 'pending', 'pending']);
    expect(rendering[1]!.detail).toBe('chunk 2 of 4');
    // All chunks done, not yet joined: the last chunk, not "5 of 4".
    expect(
      phaseRows({
        status: 'running',
        progressDetail: { phase: 'rendering', chunks: { done: 4, total: 4 } },
      })[1]!.detail,
    ).toBe('chunk 4 of 4');
  });

  it('shows a completed job complete, and a failed one failed at its phase', () => {
    const done = phaseRows({ status: 'completed', progressDetail: { phase: 'uploading' } });
    expect(done.every((r) => r.state === 'done')).toBe(true);
    expect(phaseSummary(done)).toBe('Complete');
    const failed = phaseRows({ status: 'failed', progressDetail: { phase: 'preparing' } });
    expect(failed[0]!.state).toBe('failed');
    expect(phaseSummary(failed)).toBe('Failed while preparing');
    expect(phaseSummary(phaseRows({ status: 'queued' }))).toBe('Waiting to start');
  });
});

describe('historyShortcut', () => {
  const key = (
    k: string,
    mods: Partial<{ ctrl: boolean; meta: boolean; shift: boolean; alt: boolean }> = {},
  ) => ({
    key: k,
    ctrlKey: mods.ctrl ?? false,
    metaKey: mods.meta ?? false,
    shiftKey: mods.shift ?? false,
    altKey: mods.alt ?? false,
  });
  it('reads Ctrl-Z as undo, Ctrl-Shift-Z and Ctrl-Y as redo, ⌘ as Ctrl', () => {
    expect(historyShortcut(key('z', { ctrl: true }), null)).toBe('undo');
    expect(historyShortcut(key('Z', { ctrl: true, shift: true }), null)).toBe('redo');
    expect(historyShortcut(key('y', { ctrl: true }), null)).toBe('redo');
    expect(historyShortcut(key('z', { meta: true }), { tagName: 'BUTTON' })).toBe('undo');
    expect(historyShortcut(key('z'), null)).toBeUndefined();
    expect(historyShortcut(key('z', { ctrl: true, alt: true }), null)).toBeUndefined();
  });
  it('leaves Ctrl-Z to a text field (its typing), not to a slider or a select', () => {
    expect(historyShortcut(key('z', { ctrl: true }), { tagName: 'TEXTAREA' })).toBeUndefined();
    expect(historyShortcut(key('z', { ctrl: true }), { tagName: 'INPUT', type: 'text' })).toBeUndefined();
    expect(historyShortcut(key('z', { ctrl: true }), { tagName: 'INPUT', type: 'number' })).toBeUndefined();
    expect(historyShortcut(key('z', { ctrl: true }), { tagName: 'INPUT', type: 'range' })).toBe('undo');
    expect(historyShortcut(key('z', { ctrl: true }), { tagName: 'SELECT' })).toBe('undo');
  });
});

describe('the create forms', () => {
  it('reads a pasted spec, or says why it is not one', () => {
    expect(parseSpec('{"title":"t","scenes":[]}')).toEqual({ body: { title: 't', scenes: [] } });
    expect(parseSpec('')).toHaveProperty('error');
    expect((parseSpec('{"title":') as { error: string }).error).toMatch(/^This is not JSON/);
    expect((parseSpec('[1]') as { error: string }).error).toMatch(/JSON object/);
  });
  it('makes one locally drawn scene per line of the quick form', () => {
    expect(
      quickProject({ title: ' Launch ', scenes: 'Meet Lumen.\n\n  It follows the sun. ', music: true }),
    ).toEqual({
      title: 'Launch',
      scenes: [
        { narration: 'Meet Lumen.', visual: { model: 'local-image', params: { prompt: 'Meet Lumen.' } } },
        {
          narration: 'It follows the sun.',
          visual: { model: 'local-image', params: { prompt: 'It follows the sun.' } },
        },
      ],
      music: { source: { mood: 'calm' } },
    });
  });
});

describe('scene drafts', () => {
  it('sends only what changed', () => {
    const s = scene({ duration: 3 });
    expect(sceneChanges(s, sceneDraft(s))).toBeUndefined();
    expect(sceneChanges(s, { ...sceneDraft(s), narration: 'Hi.' })).toEqual({ narration: 'Hi.' });
    expect(sceneChanges(s, { ...sceneDraft(s), duration: '4.5' })).toEqual({ duration: 4.5 });
    // Emptied: back to the voiceover's length.
    expect(sceneChanges(s, { ...sceneDraft(s), duration: '' })).toEqual({ duration: null });
    expect(sceneChanges(scene(), { ...sceneDraft(scene()), duration: '' })).toBeUndefined();
  });
  it('keeps a model’s other params when only the prompt changes, and switches sources whole', () => {
    const s = scene();
    expect(visualFromDraft({ source: 'model', value: 'local-image', prompt: 'a field' }, s.visual)).toEqual({
      model: 'local-image',
      params: { prompt: 'a field', seed: 3 },
    });
    expect(visualFromDraft({ source: 'model', value: 'local-video', prompt: 'a field' }, s.visual)).toEqual({
      model: 'local-video',
      params: { prompt: 'a field' },
    });
    expect(visualFromDraft({ source: 'key', value: ' uploads/a.png ', prompt: '' }, s.visual)).toEqual({
      key: 'uploads/a.png',
    });
  });
});

describe('where the API’s field errors show', () => {
  it('puts a scene PATCH’s fields and the document’s paths next to that scene’s controls', () => {
    const err = new ApiError({
      status: 400,
      code: 'invalid_input',
      message: 'bad',
      issues: [
        { field: 'overlay.scale', message: 'overlay.scale: Too big: expected number to be <=0.8' },
        { field: 'scenes[1].duration', message: 'must be positive' },
      ],
    });
    const placed = placeIssues(err, sceneControls('b', 1));
    expect(placed.byControl[sceneControl('b', 'overlay-scale')]).toEqual([
      'Too big: expected number to be <=0.8',
    ]);
    expect(placed.byControl[sceneControl('b', 'duration')]).toEqual(['Must be positive']);
    expect(placed.general).toEqual([]);
  });
  it('writes music volume in decibels', () => {
    expect(volumeDb(0.15)).toBe('−16.5 dB');
    expect(volumeDb(1)).toBe('0 dB');
    expect(volumeDb(0)).toBe('silent');
  });
});
