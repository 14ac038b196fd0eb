// js-log-transform: a sluice transform in JavaScript.
//
// `fit` picks the numeric columns (all of them, or those named in
// `columns`, comma-separated: a missing or non-numeric one is invalid
// input) and checks they have no values below -offset; `apply` replaces
// each with log(x + offset) as f64. Other columns pass through; nulls stay
// nulls. The helpers (`fail`, `param`, `resolveParams`, `parseNames`,
// `numericColumns`, `numbers`, `dumpState`, `loadState`) come from
// sluice_sdk, added by `sluice build`.

const NAME = 'js-log-transform';
const PARAMS = [
  param('offset', 'number', 1.0, 'added before the logarithm', { min: 0 }),
  param('columns', 'text', '', 'comma-separated columns (empty: every numeric column)'),
];

export function describe() {
  return { name: NAME, version: '0.1.0', kind: 'transform', doc: 'log(x + offset) of numeric columns (JavaScript).', params: PARAMS, metrics: [] };
}

export function fit(data, params) {
  const p = resolveParams(PARAMS, params);
  if (!Number.isFinite(p.offset) || p.offset < 0) fail('invalid-params', "param 'offset' must be a finite number >= 0");
  const chosen = [];
  for (const col of numericColumns(data, parseNames(p.columns, 'columns'), NAME)) {
    numbers(col, NAME).forEach((x, i) => {
      if ((!col.valid || col.valid[i]) && x + p.offset < 0) fail('invalid-input', `${NAME}: column '${col.name}' row ${i} is ${x}, below -offset`);
    });
    chosen.push(col.name);
  }
  return dumpState({ offset: p.offset, columns: chosen });
}

export function apply(state, data) {
  const s = loadState(state, NAME);
  if (!s || !Array.isArray(s.columns) || typeof s.offset !== 'number') fail('invalid-input', `${NAME}: the state is not one this plugin wrote`);
  const columns = data.columns.map((col) => {
    if (!s.columns.includes(col.name)) return col;
    const out = new Float64Array(numbers(col, NAME).map((x) => Math.log(x + s.offset)));
    return { name: col.name, values: { tag: 'f64s', val: out }, valid: col.valid };
  });
  return { columns };
}
