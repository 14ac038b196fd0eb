// js-tiny: a validator whose metrics come from the npm package `tiny`
// (vendor/tiny, a dependency in package.json): `sluice build` installs it
// and bundles it with this file. Metrics: `mean` and `sum_sq_dev` of the
// column `column`, nulls skipped.
import { mean, sumSqDev } from 'tiny';

const NAME = 'js-tiny';
const PARAMS = [param('column', 'text', '', 'the numeric column to summarise')];

export function describe() {
  return { name: NAME, version: '0.1.0', kind: 'validator', doc: 'The mean of a column, computed by an npm dependency (JavaScript).', params: PARAMS, metrics: ['mean', 'sum_sq_dev'] };
}

export function validate(data, reference, params) {
  const p = resolveParams(PARAMS, params);
  const col = data.columns.find((c) => c.name === p.column);
  if (!col) fail('invalid-params', `no column '${p.column}'`);
  const xs = numbers(col, NAME).filter((_, i) => !col.valid || col.valid[i]);
  return {
    checks: [{ name: 'rows', passed: xs.length > 0, detail: `${xs.length} values` }],
    metrics: [{ name: 'mean', value: mean(xs) }, { name: 'sum_sq_dev', value: sumSqDev(xs) }],
  };
}
