// ThingsPanel form elements (contract §5) built from declarative field descriptors.

export interface FormOption {
  label: string;
  value: string | number;
}

export interface FormField {
  key: string;
  label: string;
  type?: 'input' | 'select' | 'table';
  /** 'number' renders a numeric input and stores a number. */
  valueType?: 'string' | 'number';
  required?: boolean;
  placeholder?: string;
  /** Error text shown by the UI; defaults to "<label> is required" / "<label> is invalid". */
  message?: string;
  /** A regex literal string as the UI expects, e.g. "/^\\d{1,}$/". */
  rules?: string;
  options?: FormOption[];
  /** Columns of a table element. */
  columns?: FormField[];
}

export interface FormElement {
  dataKey: string;
  label: string;
  type: 'input' | 'select' | 'table';
  placeholder?: string;
  validate?: { required: boolean; message: string; type: 'string' | 'number'; rules?: string };
  options?: FormOption[];
  array?: FormElement[];
}

export function toFormElement(f: FormField): FormElement {
  const type = f.type ?? (f.options ? 'select' : f.columns ? 'table' : 'input');
  const el: FormElement = { dataKey: f.key, label: f.label, type };
  if (f.placeholder !== undefined) el.placeholder = f.placeholder;
  if (type !== 'table') {
    el.validate = {
      required: f.required ?? false,
      message: f.message ?? (f.required ? `${f.label} is required` : `${f.label} is invalid`),
      type: f.valueType ?? 'string',
    };
    if (f.rules !== undefined) el.validate.rules = f.rules;
  }
  if (f.options) el.options = f.options;
  if (f.columns) el.array = f.columns.map(toFormElement);
  return el;
}

export function toForm(fields: readonly FormField[]): FormElement[] {
  return fields.map(toFormElement);
}
