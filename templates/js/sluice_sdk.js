// sluice_sdk: helpers `sluice build` puts in front of every JavaScript
// plugin's source (componentize-js takes one file), so a plugin can call
// them without an import.

// Throw a step error: kind is 'invalid-params', 'invalid-input' or 'internal'.
function fail(kind, message) {
  throw { kind, message };
}

// A param spec; `defaultValue === undefined` makes the param required.
// `allowed` may give `choices` (the values of a text param) and `min`,
// `max` (a number's bounds, included unless `minInclusive`/`maxInclusive`
// is false): the host checks pipelines against them before they run, and
// resolveParams checks them again.
function param(name, kind, defaultValue, doc, allowed = {}) {
  const value = kind === 'integer' && defaultValue !== undefined ? BigInt(defaultValue) : defaultValue;
  const { choices = [], min, max, minInclusive = true, maxInclusive = true } = allowed;
  const range = min === undefined && max === undefined ? undefined : { min, max, minInclusive, maxInclusive };
  return { name, kind, default: value === undefined ? undefined : { tag: kind, val: value }, doc, choices, range };
}

// Why `value` is not one `spec` allows, or undefined.
function refusal(spec, value) {
  if (spec.choices.length && typeof value === 'string' && !spec.choices.includes(value)) {
    return `param '${spec.name}' is "${value}", not one of: ${spec.choices.join(', ')}`;
  }
  const r = spec.range;
  if (!r || typeof value === 'string' || typeof value === 'boolean') return undefined;
  for (const x of Array.isArray(value) || ArrayBuffer.isView(value) ? Array.from(value, Number) : [Number(value)]) {
    const low = r.min === undefined || (r.minInclusive ? x >= r.min : x > r.min);
    const high = r.max === undefined || (r.maxInclusive ? x <= r.max : x < r.max);
    if (!(low && high)) return `param '${spec.name}' is ${x}, outside its range`;
  }
  return undefined;
}

// The params by name, defaults filled in; unknown names, wrong kinds,
// missing required params and values outside a param's choices or range
// are invalid-params errors.
function resolveParams(specs, params) {
  const out = {};
  for (const p of params) {
    const spec = specs.find((s) => s.name === p.name);
    if (!spec) fail('invalid-params', `unknown param '${p.name}'; known: ${specs.map((s) => s.name).join(', ')}`);
    if (p.value.tag !== spec.kind) fail('invalid-params', `param '${p.name}' must be a ${spec.kind}`);
    out[p.name] = p.value.val;
    const why = refusal(spec, p.value.val);
    if (why) fail('invalid-params', why);
  }
  for (const s of specs) {
    if (s.name in out) continue;
    if (!s.default) fail('invalid-params', `param '${s.name}' is required`);
    out[s.name] = s.default.val;
  }
  return out;
}

// The rows of a table (0 for a table without columns).
function numRows(table) {
  return table.columns.length ? table.columns[0].values.val.length : 0;
}

// A numeric column (f64 or i64) as numbers; other types are invalid input.
function numbers(col, plugin) {
  if (col.values.tag !== 'f64s' && col.values.tag !== 'i64s') {
    fail('invalid-input', `${plugin}: column '${col.name}' must be numeric (f64 or i64), is ${col.values.tag}`);
  }
  return Array.from(col.values.val, Number);
}

// A comma-separated list of column names, blank entries skipped; a name
// given twice is an invalid-params error (as the Rust SDK's
// `columns::parse_names`).
function parseNames(text, param) {
  const names = [];
  for (const name of text.split(',').map((s) => s.trim())) {
    if (!name) continue;
    if (names.includes(name)) fail('invalid-params', `param '${param}' names column '${name}' twice`);
    names.push(name);
  }
  return names;
}

// The columns a numeric transform works on: the listed ones, or every
// numeric (f64 or i64) column when `names` is empty. A listed column that
// is missing, or not numeric, is an invalid-input error (as the Rust SDK's
// `columns::numeric_columns`).
function numericColumns(table, names, plugin) {
  const isNum = (col) => col.values.tag === 'f64s' || col.values.tag === 'i64s';
  if (!names.length) return table.columns.filter(isNum);
  const kind = { f64s: 'f64', i64s: 'i64', bools: 'bool', strings: 'string' };
  return names.map((name) => {
    const col = table.columns.find((c) => c.name === name);
    if (!col) fail('invalid-input', `no column '${name}'; columns: ${table.columns.map((c) => c.name).join(', ')}`);
    if (!isNum(col)) fail('invalid-input', `column '${name}' is ${kind[col.values.tag]}, ${plugin} needs f64 or i64`);
    return col;
  });
}

// A fitted state or model as bytes, and back.
function dumpState(obj) {
  return new TextEncoder().encode(JSON.stringify(obj));
}

function loadState(bytes, plugin) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    fail('invalid-input', `${plugin}: the state is not one this plugin wrote: ${e}`);
  }
}
