// Generates form_voucher.json (all connectors' SVCR forms) and each connector's form files.
import { writeFile } from 'node:fs/promises';
import { builtInConnectors } from '../../connectors/index.js';
import { toForm } from '../core/forms.js';

/** Top-level form_voucher.json: connector id → the exact SVCR array its plugin API serves. */
export function voucherForms(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of Object.values(builtInConnectors).sort((a, b) => a.id.localeCompare(b.id))) out[c.id] = toForm(c.voucherFields);
  return out;
}

export function connectorFormFiles(): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [{ path: 'form_voucher.json', content: `${JSON.stringify(voucherForms(), null, 2)}\n` }];
  for (const c of Object.values(builtInConnectors)) {
    files.push({ path: `connectors/${c.id}/form_voucher.json`, content: `${JSON.stringify(toForm(c.voucherFields), null, 2)}\n` });
    files.push({ path: `connectors/${c.id}/form_config.json`, content: `${JSON.stringify(c.configFields ? toForm(c.configFields) : null, null, 2)}\n` });
  }
  return files;
}

export async function writeForms(root: URL): Promise<string[]> {
  const written: string[] = [];
  for (const f of connectorFormFiles()) {
    await writeFile(new URL(f.path, root), f.content);
    written.push(f.path);
  }
  return written;
}
