import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { builtInConnectors } from '../../connectors/index.js';
import { connectorFormFiles } from '../../src/cli/forms.js';
import { toForm } from '../../src/core/forms.js';

test('committed form files match the connectors\' schemas (run `npm run forms` when this fails)', async () => {
  for (const f of connectorFormFiles()) {
    const committed = await readFile(new URL(`../../${f.path}`, import.meta.url), 'utf8').catch(() => '');
    assert.equal(committed, f.content, `${f.path} is stale: run npm run forms`);
  }
});

test('every form element is renderable by the ThingsPanel UI', () => {
  for (const c of Object.values(builtInConnectors)) {
    const forms = [toForm(c.voucherFields), ...(c.configFields ? [toForm(c.configFields)] : [])];
    for (const form of forms) {
      for (const el of form) {
        assert.ok(['input', 'select', 'table'].includes(el.type), `${c.id}.${el.dataKey}`);
        assert.ok(el.dataKey && el.label, `${c.id} element without dataKey/label`);
        if (el.type === 'input') assert.ok(el.validate && typeof el.validate.required === 'boolean' && el.validate.message, `${c.id}.${el.dataKey} needs validate`);
        if (el.type === 'select') assert.ok(Array.isArray(el.options) && el.options.length > 0, `${c.id}.${el.dataKey} needs options`);
      }
      const keys = form.map((e) => e.dataKey);
      assert.equal(new Set(keys).size, keys.length, `${c.id} has duplicate dataKeys`);
    }
  }
});
