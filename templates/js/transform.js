// {{name}}: a sluice transform in JavaScript. `fit` learns the mean of
// every numeric column; `apply` returns (x - mean) * scale for those
// columns and passes the others through. Helpers from sluice_sdk.

const NAME = '{{name}}';
const PARAMS = [param('scale', 'number', 1.0, 'factor applied after centering')];

export function describe() {
  return { name: NAME, version: '0.1.0', kind: 'transform', doc: 'Centers numeric columns on their mean.', params: PARAMS, metrics: [] };
}

export function fit(data, params) {
  const p = resolveParams(PARAMS, params);
  const means = {};
  for (const col of data.columns) {
    if (col.values.tag !== 'f64s' && col.values.tag !== 'i64s') continue;
    const xs = numbers(col, NAME).filter((x, i) => !col.valid || col.valid[i]);
    means[col.name] = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  }
  return dumpState({ means, scale: p.scale });
}

export function apply(state, data) {
  const s = loadState(state, NAME);
  if (!s || typeof s.means !== 'object') fail('invalid-input', `${NAME}: the state is not one this plugin wrote`);
  const columns = data.columns.map((col) => {
    if (!(col.name in s.means)) return col;
    const m = s.means[col.name];
    const out = new Float64Array(numbers(col, NAME).map((x) => (x - m) * s.scale));
    return { name: col.name, values: { tag: 'f64s', val: out }, valid: col.valid };
  });
  return { columns };
}
