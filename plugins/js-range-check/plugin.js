// js-range-check: a sluice validator in JavaScript.
//
// Checks that every numeric value of the table lies in [min, max] (nulls
// are skipped) and that the table has at least `min_rows` rows. Metrics:
// `rows`, `out_of_range` (values outside the range). `fail`, `param`,
// `resolveParams` and `numRows` come from sluice_sdk (added by `sluice build`).

const PARAMS = [
  param('min', 'number', -1e300, 'smallest value allowed'),
  param('max', 'number', 1e300, 'largest value allowed'),
  param('min_rows', 'integer', 1, 'fewest rows allowed', { min: 0 }),
];

export function describe() {
  return {
    name: 'js-range-check',
    version: '0.1.0',
    kind: 'validator',
    doc: 'Checks every numeric value lies in [min, max] (JavaScript).',
    params: PARAMS,
    metrics: ['rows', 'out_of_range'],
  };
}

export function validate(data, reference, params) {
  const p = resolveParams(PARAMS, params);
  if (!(p.min <= p.max)) fail('invalid-params', "param 'min' must be <= 'max'");
  const rows = numRows(data);
  const checks = [{ name: 'rows', passed: BigInt(rows) >= p.min_rows, detail: `${rows} rows, need ${p.min_rows}` }];
  let outside = 0;
  for (const col of data.columns) {
    if (col.values.val.length !== rows) fail('invalid-input', `column '${col.name}' has ${col.values.val.length} rows, expected ${rows}`);
    if (col.values.tag !== 'f64s' && col.values.tag !== 'i64s') continue;
    let bad = 0;
    col.values.val.forEach((v, i) => {
      if (col.valid && !col.valid[i]) return;
      const x = Number(v);
      if (!(x >= p.min && x <= p.max)) bad += 1;
    });
    outside += bad;
    checks.push({ name: `range:${col.name}`, passed: bad === 0, detail: `${bad} values outside [${p.min}, ${p.max}]` });
  }
  return { checks, metrics: [{ name: 'rows', value: rows }, { name: 'out_of_range', value: outside }] };
}
