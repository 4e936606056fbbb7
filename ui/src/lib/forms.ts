// Data forms (XEP-0004) as the engine hands them (`Form`), rendered generically (see
// RoomConfigDialog): the values being edited per field, and the answers to submit.

import type { Form, FormField } from './bindings';

/** Values being edited, per field var (text-multi and jid-multi: one value per line). */
export type FormValues = Record<string, string[]>;

/** Whether the field is shown to be filled in (fixed text is shown, hidden fields are not). */
export function editable(field: FormField): field is FormField & { var: string } {
  return field.var !== null && field.kind !== 'fixed' && field.kind !== 'hidden';
}

export function isTrue(values: string[]): boolean {
  return values[0] === '1' || values[0] === 'true';
}

/** The form's current values, to start editing from. */
export function initialValues(form: Form): FormValues {
  const values: FormValues = {};
  for (const field of form.fields) if (field.var !== null && field.kind !== 'fixed') values[field.var] = [...field.values];
  return values;
}

/** Lines of a multi-line field, blank ones left out. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/u)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The answers to submit: every field with a var but fixed text (hidden ones as they came). */
export function answers(form: Form, values: FormValues): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const field of form.fields) {
    if (field.var === null || field.kind === 'fixed') continue;
    const value = values[field.var] ?? field.values;
    out[field.var] = field.kind === 'boolean' ? [isTrue(value) ? '1' : '0'] : [...value];
  }
  return out;
}

/** The required fields left empty (their labels), to say before submitting. */
export function missing(form: Form, values: FormValues): string[] {
  return form.fields
    .filter((f) => editable(f) && f.required && f.kind !== 'boolean' && !(values[f.var!] ?? []).some((v) => v.trim() !== ''))
    .map((f) => f.label ?? f.var!);
}
