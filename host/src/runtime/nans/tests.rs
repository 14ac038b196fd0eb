//! The pass's tests: the bits it gives against Cranelift's, what it
//! leaves alone, components kept whole.

use super::*;
use wasmtime::{Config, Engine, Instance, Module, Store};

/// A core module of one exported function `f` of no parameters
/// returning `result`, with the helper functions `extra`.
fn module(result: &str, body: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        "(module (memory 1) {extra} (func (export \"f\") (result {result}) {body}))"
    ))
    .unwrap()
}

fn engine(canonicalize: bool) -> Engine {
    let mut config = Config::new();
    config.cranelift_nan_canonicalization(canonicalize);
    Engine::new(&config).unwrap()
}

/// `f`'s result as bits, the module compiled by `engine`.
fn run(engine: &Engine, wasm: &[u8]) -> u64 {
    let module = Module::new(engine, wasm).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut out = [wasmtime::Val::I64(0)];
    f.call(&mut store, &[], &mut out).unwrap();
    match out[0] {
        wasmtime::Val::I64(v) => v as u64,
        wasmtime::Val::I32(v) => u64::from(v as u32),
        ref other => panic!("unexpected result {other:?}"),
    }
}

fn rewritten(wasm: &[u8]) -> (Vec<u8>, Counts) {
    let mut counts = Counts::default();
    let out = rewrite_module(wasm, &mut counts).unwrap();
    wasmparser::Validator::new().validate_all(&out).unwrap();
    (out, counts)
}

const NAN64: &str = "(f64.div (f64.const 0) (f64.const 0))";
const NAN32: &str = "(f32.sqrt (f32.const -1))";

/// Every way a NaN's bits can be seen gives the bits Cranelift's own
/// canonicalization gives, with the pass and Cranelift's off.
#[test]
fn nan_bits_are_cranelift_s_canonical_ones_wherever_seen() {
    let v2 = format!("(f64x2.div (v128.const f64x2 0 1) (f64x2.splat {NAN64}))");
    let cases = [
        ("i64", format!("(i64.reinterpret_f64 {NAN64})"), ""),
        (
            "i64",
            format!(
                "(i64.reinterpret_f64 (f64.add (f64.mul {NAN64} (f64.const 2)) (f64.const 1)))"
            ),
            "",
        ),
        ("i32", format!("(i32.reinterpret_f32 {NAN32})"), ""),
        (
            "i64",
            format!("(f64.store (i32.const 8) {NAN64}) (i64.load (i32.const 8))"),
            "",
        ),
        // neg and copysign see the sign: x86's own NaN is negative.
        (
            "i64",
            format!("(i64.reinterpret_f64 (f64.neg {NAN64}))"),
            "",
        ),
        (
            "i64",
            format!("(i64.reinterpret_f64 (f64.copysign (f64.const 1) {NAN64}))"),
            "",
        ),
        (
            "i64",
            format!("(local f64) (local.set 0 {NAN64}) (i64.reinterpret_f64 (local.get 0))"),
            "",
        ),
        (
            "i64",
            "(i64.reinterpret_f64 (call $g))".to_string(),
            "(func $g (result f64) (f64.sub (f64.const inf) (f64.const inf)))",
        ),
        ("i64", format!("(i64x2.extract_lane 0 {v2})"), ""),
        (
            "i64",
            format!("(i64.reinterpret_f64 (f64x2.extract_lane 1 {v2}))"),
            "",
        ),
        (
            "i64",
            format!("(v128.store (i32.const 16) {v2}) (i64.load (i32.const 24))"),
            "",
        ),
        (
            "i64",
            format!("(i64.reinterpret_f64 (select {NAN64} (f64.const 1) (i32.const 1)))"),
            "",
        ),
        // NaN-ness alone is seen the same way, canonical or not.
        ("i32", format!("(f64.ne {NAN64} {NAN64})"), ""),
        // A NaN kept in a loop's accumulator, seen after the loop.
        ("i64", ACCUMULATE.to_string(), ""),
        // A local holding a NaN from memory as well as a float result: the
        // loaded bits (not a canonical NaN) stay as they are.
        ("i64", LOADED_OR_COMPUTED.to_string(), ""),
        // A vector local holding f32 lanes, then f64 lanes, then integers
        // from memory that look like NaNs.
        ("i64", REUSED_VECTOR.to_string(), ""),
        // A temporary in a local that also holds a load: a NaN read only
        // by arithmetic before the next write, then one still in it after
        // the straight line ends.
        ("i64", TEMPORARY.to_string(), ""),
    ];
    let (canonical, plain) = (engine(true), engine(false));
    let mut differs = 0;
    for (result, body, extra) in &cases {
        let wasm = module(result, body, extra);
        let (out, _) = rewritten(&wasm);
        let want = run(&canonical, &wasm);
        assert_eq!(run(&plain, &out), want, "{body}: {want:x}");
        differs += usize::from(run(&plain, &wasm) != want);
    }
    // Without the pass, the CPU's own NaNs show (x86: negative ones).
    if cfg!(target_arch = "x86_64") {
        assert!(differs >= 8, "only {differs} cases differ without the pass");
    }
}

/// `acc += 0/0` eight times in a loop (`acc` starts at 0), then the
/// accumulator's bits.
const ACCUMULATE: &str = "(local $acc f64) (local $i i32) (local.set $acc (f64.const 0)) \
    (loop $l (local.set $acc (f64.add (local.get $acc) (f64.div (f64.const 0) (f64.const 0)))) \
    (local.set $i (i32.add (local.get $i) (i32.const 1))) \
    (br_if $l (i32.lt_u (local.get $i) (i32.const 8)))) \
    (i64.reinterpret_f64 (local.get $acc))";

/// `x` from a float operation or from memory (a NaN that is not the
/// canonical one), then stored back and read as bits.
const LOADED_OR_COMPUTED: &str = "(local $x f64) \
    (i64.store (i32.const 0) (i64.const 0x7ff0000000000001)) \
    (local.set $x (f64.sub (f64.const inf) (f64.const inf))) \
    (local.set $x (f64.load (i32.const 0))) \
    (f64.store (i32.const 8) (local.get $x)) (i64.load (i32.const 8))";

/// One vector local written with f32x4 and f64x2 results and integer
/// lanes from memory, each stored; the stored words summed.
const REUSED_VECTOR: &str = "(local $v v128) \
    (i64.store (i32.const 0) (i64.const 0xfff0000000000003)) \
    (local.set $v (f32x4.sqrt (v128.const f32x4 -1 -1 -1 -1))) (v128.store (i32.const 16) (local.get $v)) \
    (local.set $v (f64x2.sqrt (v128.const f64x2 -1 -1))) (v128.store (i32.const 32) (local.get $v)) \
    (local.set $v (v128.load (i32.const 0))) (v128.store (i32.const 48) (local.get $v)) \
    (i64.add (i64.add (i64.load (i32.const 16)) (i64.load (i32.const 32))) (i64.load (i32.const 48)))";

/// `t` holds a load as well as float results: `0/0` written to it is read
/// only by `t * t` before `t` is written again; `sqrt(-1)` written to it
/// is still there when a block begins, and is then read as bits.
const TEMPORARY: &str = "(local $t f64) (local $s f64) \
    (local.set $t (f64.load (i32.const 0))) \
    (local.set $t (f64.div (f64.const 0) (f64.const 0))) \
    (local.set $s (f64.mul (local.get $t) (local.get $t))) \
    (local.set $t (f64.sqrt (f64.const -1))) \
    (block) \
    (f64.store (i32.const 8) (f64.add (local.get $s) (local.get $t))) \
    (i64.add (i64.load (i32.const 8)) (i64.reinterpret_f64 (local.get $t)))";

/// A result written to a local that may hold other values is left alone
/// when every read of it before the local's next write takes it unseen,
/// and canonicalized when it may still be read after the straight line.
#[test]
fn temporaries_read_only_by_arithmetic_are_left_alone() {
    let (_, counts) = rewritten(&module("i64", TEMPORARY, ""));
    // Left: the div, the mul, the read of `s`; canonicalized: the sqrt
    // (read after the block) and the stored add.
    assert_eq!(
        counts,
        Counts {
            left: 3,
            canonicalized: 2
        }
    );
}

/// A loop's accumulator holds the CPU's NaNs: its update is left alone,
/// and only its read after the loop is canonicalized.
#[test]
fn accumulators_are_canonicalized_once_after_their_loop() {
    let (_, counts) = rewritten(&module("i64", ACCUMULATE, ""));
    // Left: the read in the loop, the add and the div it takes;
    // canonicalized: the read after the loop.
    assert_eq!(
        counts,
        Counts {
            left: 3,
            canonicalized: 1
        }
    );
    // Written a NaN from memory too, a local is no accumulator: its reads
    // are left as they are (the loaded bits kept), and the float result
    // written to it is left alone only because it is overwritten unread.
    let (_, counts) = rewritten(&module("i64", LOADED_OR_COMPUTED, ""));
    assert_eq!(
        counts,
        Counts {
            left: 1,
            canonicalized: 0
        }
    );
}

/// A result used only by arithmetic, a comparison or a lane move is
/// left alone; only the last one, stored, is canonicalized.
#[test]
fn results_used_only_by_arithmetic_are_left_alone() {
    let body = "(f64.store (i32.const 0) (f64.add (f64.mul (f64.load (i32.const 8)) \
                (f64.const 2)) (f64x2.extract_lane 0 (f64x2.mul (v128.load (i32.const 16)) \
                (v128.load (i32.const 32)))))) (i32.const 0)";
    let (_, counts) = rewritten(&module("i32", body, ""));
    assert_eq!(
        counts,
        Counts {
            left: 3,
            canonicalized: 1
        }
    );
}

/// A component's core modules are rewritten, its other sections kept:
/// it still validates, and with nothing to rewrite it is unchanged.
#[test]
fn components_keep_everything_but_their_code() {
    let plain = wat::parse_str(
        "(component (core module $m (func (export \"f\") (result i32) i32.const 1)) \
         (core instance (instantiate $m)) (component (core module)))",
    )
    .unwrap();
    let (out, counts) = rewrite(&plain).unwrap();
    assert_eq!(counts, Counts::default());
    wasmparser::Validator::new().validate_all(&out).unwrap();
    let float = wat::parse_str(format!(
        "(component (core module (func (export \"f\") (result i64) \
         (i64.reinterpret_f64 {NAN64}))))"
    ))
    .unwrap();
    let (out, counts) = rewrite(&float).unwrap();
    assert_eq!(counts.canonicalized, 1);
    wasmparser::Validator::new().validate_all(&out).unwrap();
    assert!(rewrite(b"\0asm\x0d\0\x01\0garbage").is_err());
}

/// Cut short or with bytes changed, a component is an error or a
/// rewrite, never a panic: the pass reads components before wasmtime
/// validates them (in the compiling child, but also in-process).
#[test]
fn damaged_components_are_errors_not_panics() {
    let good = wat::parse_str(format!(
        "(component (core module (memory 1) (func (export \"f\") (param f64) (result i64) \
         (local v128) (local.set 1 (f64x2.splat (f64.mul (local.get 0) {NAN64}))) \
         (i64.reinterpret_f64 (f64x2.extract_lane 0 (local.get 1))))) \
         (component (core module (func))))"
    ))
    .unwrap();
    assert!(rewrite(&good).is_ok());
    for cut in 0..good.len() {
        let _ = rewrite(&good[..cut]);
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..20_000 {
        let mut bad = good.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state % bad.len() as u64) as usize;
            bad[at] = (state >> 32) as u8;
        }
        let _ = rewrite(&bad);
    }
}

/// Components nested past the limit are refused, not recursed into
/// until the stack runs out.
#[test]
fn components_nested_too_deep_are_refused() {
    // By hand: the text format refuses to nest this deep itself.
    let nested = |levels: usize| {
        let header = b"\0asm\x0d\0\x01\0";
        let mut component = header.to_vec();
        for _ in 0..levels {
            let mut outer = header.to_vec();
            outer.push(4);
            leb128(&mut outer, component.len());
            outer.extend_from_slice(&component);
            component = outer;
        }
        component
    };
    assert!(rewrite(&nested(50)).is_ok());
    let err = rewrite(&nested(150)).unwrap_err();
    assert!(err.contains("nested more than 100"), "{err}");
}
