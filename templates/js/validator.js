// {{name}}: a sluice validator in JavaScript. Checks the table has at
// least `min_rows` rows; metric `rows`. The helpers (`param`,
// `resolveParams`, `numRows`, `fail`) come from sluice_sdk, which
// `sluice build .` puts in front of this file.

const PARAMS = [param('min_rows', 'integer', 1, 'fewest rows allowed', { min: 0 })];

export function describe() {
  return { name: '{{name}}', version: '0.1.0', kind: 'validator', doc: 'Checks the row count.', params: PARAMS, metrics: ['rows'] };
}

export function validate(data, reference, params) {
  const p = resolveParams(PARAMS, params);
  const rows = numRows(data);
  const check = { name: 'rows', passed: BigInt(rows) >= p.min_rows, detail: `${rows} rows, need ${p.min_rows}` };
  return { checks: [check], metrics: [{ name: 'rows', value: rows }] };
}
