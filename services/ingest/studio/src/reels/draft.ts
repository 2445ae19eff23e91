// The new-reel form as data (pure, unit-tested): sections being written, each with a model and the
// values of its params form, and the `POST /v1/reels` body made from them. Field names follow the
// API's (`sections[1].params.prompt`), so its errors and these land next to the same control.
import type { NewSection } from '../api/reels.ts';
import type { FieldIssue, ModelInfo } from '../api/types.ts';
import type { ControlFields } from '../forms/fields.ts';
import { initialValues, paramFields, paramsFromValues, type ParamValues } from '../forms/schema-form.ts';

/** The model types a reel section may use (compiling joins videos). */
export const REEL_MODEL_TYPES: ReadonlyArray<ModelInfo['type']> = ['video', 'avatar'];
/** A reel joins its sections: at least two (the API's minimum). */
export const MIN_SECTIONS = 2;
export const MAX_SECTIONS = 50;

export interface SectionDraft {
  /** Stable across adds and removes (the list's key and the controls' ids). */
  key: number;
  title: string;
  model: string;
  values: ParamValues;
}

/** A fresh section with `model`'s defaults. */
export function newSectionDraft(key: number, model: ModelInfo | undefined): SectionDraft {
  return {
    key,
    title: '',
    model: model?.id ?? '',
    values: model ? initialValues(paramFields(model.params)) : {},
  };
}

/** The section with another model: its defaults replace the old model's values (their params differ). */
export function withModel(draft: SectionDraft, model: ModelInfo | undefined): SectionDraft {
  return { ...draft, model: model?.id ?? '', values: model ? initialValues(paramFields(model.params)) : {} };
}

/** Ids of a section's controls (`key` is the draft's key). */
export const sectionControlId = (key: number, part: string) => `section-${key}-${part}`;

/**
 * The body of `POST /v1/reels`, or every field that cannot be sent as typed, named as the API names
 * them (`title`, `sections[0].model`, `sections[1].params.duration`).
 */
export function reelBodyFrom(opts: { title: string; sections: SectionDraft[]; models: ModelInfo[] }): {
  body: { title: string; sections: NewSection[] };
  issues: FieldIssue[];
} {
  const { title, sections, models } = opts;
  const issues: FieldIssue[] = [];
  if (!title.trim()) issues.push({ field: 'title', message: 'is required' });
  const out = sections.map((d, i): NewSection => {
    const model = models.find((m) => m.id === d.model);
    if (!model) {
      issues.push({ field: `sections[${i}].model`, message: 'choose a model' });
      return { model: d.model, params: {} };
    }
    const fields = paramFields(model.params);
    const { params, issues: local } = paramsFromValues(fields, d.values);
    issues.push(...local.map((x) => ({ ...x, field: `sections[${i}].${x.field}` })));
    return { ...(d.title.trim() ? { title: d.title.trim() } : {}), model: model.id, params };
  });
  return { body: { title: title.trim(), sections: out }, issues };
}

/** Which control shows which API field, for the sections in their current order. */
export function reelControls(sections: SectionDraft[], models: ModelInfo[]): ControlFields[] {
  return [
    { control: 'reel-title', fields: ['title'] },
    ...sections.flatMap((d, i) => {
      const model = models.find((m) => m.id === d.model);
      const params = model ? paramFields(model.params) : [];
      return [
        { control: sectionControlId(d.key, 'title'), fields: [`sections[${i}].title`] },
        // Anything else about the section (an unknown param, its model) goes to the model select.
        {
          control: sectionControlId(d.key, 'model'),
          fields: [`sections[${i}].model`, `sections[${i}]`],
        },
        ...params.map((f) => ({
          control: sectionControlId(d.key, `param-${f.name}`),
          fields: [`sections[${i}].params.${f.name}`],
        })),
      ];
    }),
  ];
}
