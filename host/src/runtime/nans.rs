//! Canonical NaNs where their bits can be seen, not after every float
//! operation.
//!
//! Which NaN an arithmetic operation returns (its sign and payload) is up
//! to the CPU: x86 and Arm differ. Cranelift's own answer,
//! `cranelift_nan_canonicalization`, replaces the result of every float
//! operation by the canonical NaN (`0x7fc00000`, `0x7ff8000000000000`)
//! when it is a NaN: a comparison and a select after each one, which cost
//! 30-60% on the trainers' float loops. This pass rewrites each core
//! module of a component instead, before it is compiled (with Cranelift's
//! canonicalization off): a float result that is only ever used by more
//! float arithmetic of the same shape, a comparison, a truncation to an
//! integer, or a lane move, is left alone, because none of those lets a
//! NaN's bits through (a NaN in gives a NaN out, or the same comparison
//! result, whatever its bits). Any other use sees the bits: a store, a
//! local or a global, a call or a return, a reinterpretation, a bitwise
//! or integer operation on a vector, `abs`, `neg` and `copysign`, a
//! select, a branch. Before those, the value is replaced by the canonical
//! NaN if it is one, as Cranelift would have done at the operation.
//!
//! So every value outside the operand stack (in memory, locals, globals,
//! crossing a call) holds exactly the bits it holds under Cranelift's
//! canonicalization, and so does every output: the same bits on every
//! CPU, and the same as before this pass.
//!
//! The decision is made per operation by looking ahead in the straight
//! line of code after it: the value is followed down the operand stack
//! (each operator's arity is wasmparser's) until an operator takes it. An
//! operator whose arity is not fixed, or any control instruction, ends the
//! look-ahead: the value is canonicalized, the safe answer.

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{CodeSection, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{FunctionBody, Operator, Parser, Payload};

/// The pass's version: part of the compile cache's key, so that code
/// compiled by an older pass is not reused.
pub const VERSION: &str = "nans-at-observations-1";

/// The bytes to compile for `flags`: `wasm` rewritten when canonical NaNs
/// are asked for, as it is otherwise.
pub(crate) fn prepare(
    flags: super::EngineFlags,
    wasm: &[u8],
) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if !flags.nan_canonicalization {
        return Ok(std::borrow::Cow::Borrowed(wasm));
    }
    let (rewritten, _) =
        rewrite(wasm).map_err(|e| format!("cannot rewrite it for canonical NaNs: {e}"))?;
    Ok(std::borrow::Cow::Owned(rewritten))
}

/// How far ahead the look-ahead goes before giving up (canonicalizing):
/// a bound on the pass's time for long straight-line functions.
const LOOKAHEAD: usize = 64;

/// The canonical NaNs, as Cranelift's canonicalization writes them.
const CANON_F32: u32 = 0x7fc0_0000;
const CANON_F64: u64 = 0x7ff8_0000_0000_0000;

/// The shape of a float value whose NaNs may not be canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    F32,
    F64,
    F32x4,
    F64x2,
}

/// The shape of what `op` outputs when its result may be a NaN whose bits
/// the CPU chose (float arithmetic), or that comes unchanged from an input
/// that may be (lane moves).
fn produces(op: &Operator<'_>) -> Option<Shape> {
    use Operator::*;
    Some(match op {
        F32Add
        | F32Sub
        | F32Mul
        | F32Div
        | F32Min
        | F32Max
        | F32Sqrt
        | F32Ceil
        | F32Floor
        | F32Trunc
        | F32Nearest
        | F32DemoteF64
        | F32x4ExtractLane { .. } => Shape::F32,
        F64Add
        | F64Sub
        | F64Mul
        | F64Div
        | F64Min
        | F64Max
        | F64Sqrt
        | F64Ceil
        | F64Floor
        | F64Trunc
        | F64Nearest
        | F64PromoteF32
        | F64x2ExtractLane { .. } => Shape::F64,
        F32x4Add
        | F32x4Sub
        | F32x4Mul
        | F32x4Div
        | F32x4Min
        | F32x4Max
        | F32x4PMin
        | F32x4PMax
        | F32x4Sqrt
        | F32x4Ceil
        | F32x4Floor
        | F32x4Trunc
        | F32x4Nearest
        | F32x4Splat
        | F32x4ReplaceLane { .. }
        | F32x4DemoteF64x2Zero
        | F32x4RelaxedMadd
        | F32x4RelaxedNmadd
        | F32x4RelaxedMin
        | F32x4RelaxedMax => Shape::F32x4,
        F64x2Add
        | F64x2Sub
        | F64x2Mul
        | F64x2Div
        | F64x2Min
        | F64x2Max
        | F64x2PMin
        | F64x2PMax
        | F64x2Sqrt
        | F64x2Ceil
        | F64x2Floor
        | F64x2Trunc
        | F64x2Nearest
        | F64x2Splat
        | F64x2ReplaceLane { .. }
        | F64x2PromoteLowF32x4
        | F64x2RelaxedMadd
        | F64x2RelaxedNmadd
        | F64x2RelaxedMin
        | F64x2RelaxedMax => Shape::F64x2,
        _ => return None,
    })
}

/// Whether `op` taking a value of `shape` as its operand `operand` (0 is
/// the first, the deepest on the stack) lets none of a NaN's bits through
/// to anything but a value [`produces`] covers again.
fn takes_unseen(op: &Operator<'_>, operand: usize, shape: Shape) -> bool {
    use Operator::*;
    match op {
        Drop => true,
        // `copysign` reads the sign of its second operand.
        F32Copysign | F64Copysign => false,
        F32Eq | F32Ne | F32Lt | F32Gt | F32Le | F32Ge | I32TruncF32S | I32TruncF32U
        | I64TruncF32S | I64TruncF32U | I32TruncSatF32S | I32TruncSatF32U | I64TruncSatF32S
        | I64TruncSatF32U | F64PromoteF32 | F32x4Splat => shape == Shape::F32,
        F64Eq | F64Ne | F64Lt | F64Gt | F64Le | F64Ge | I32TruncF64S | I32TruncF64U
        | I64TruncF64S | I64TruncF64U | I32TruncSatF64S | I32TruncSatF64U | I64TruncSatF64S
        | I64TruncSatF64U | F32DemoteF64 | F64x2Splat => shape == Shape::F64,
        F32x4Eq
        | F32x4Ne
        | F32x4Lt
        | F32x4Gt
        | F32x4Le
        | F32x4Ge
        | I32x4TruncSatF32x4S
        | I32x4TruncSatF32x4U
        | F64x2PromoteLowF32x4
        | F32x4ExtractLane { .. } => shape == Shape::F32x4,
        F64x2Eq
        | F64x2Ne
        | F64x2Lt
        | F64x2Gt
        | F64x2Le
        | F64x2Ge
        | I32x4TruncSatF64x2SZero
        | I32x4TruncSatF64x2UZero
        | F32x4DemoteF64x2Zero
        | F64x2ExtractLane { .. } => shape == Shape::F64x2,
        // A lane replaced: the vector first, the scalar second.
        F32x4ReplaceLane { .. } => shape == [Shape::F32x4, Shape::F32][operand.min(1)],
        F64x2ReplaceLane { .. } => shape == [Shape::F64x2, Shape::F64][operand.min(1)],
        // The same arithmetic: a NaN in is a NaN out, canonicalized there.
        // (`produces` also lists lane moves and conversions, handled above.)
        _ => match produces(op) {
            Some(out) => {
                out == shape
                    && !matches!(
                        op,
                        F32DemoteF64 | F64PromoteF32 | F32x4DemoteF64x2Zero | F64x2PromoteLowF32x4
                    )
            }
            None => false,
        },
    }
}

/// Only fixed arities: anything that needs the module's types answers
/// `None`, which ends the look-ahead.
struct FixedArity;

impl wasmparser::ModuleArity for FixedArity {
    fn sub_type_at(&self, _: u32) -> Option<&wasmparser::SubType> {
        None
    }
    fn tag_type_arity(&self, _: u32) -> Option<(u32, u32)> {
        None
    }
    fn type_index_of_function(&self, _: u32) -> Option<u32> {
        None
    }
    fn func_type_of_cont_type(&self, _: &wasmparser::ContType) -> Option<&wasmparser::FuncType> {
        None
    }
    fn sub_type_of_ref_type(&self, _: &wasmparser::RefType) -> Option<&wasmparser::SubType> {
        None
    }
    fn control_stack_height(&self) -> u32 {
        0
    }
    fn label_block(&self, _: u32) -> Option<(wasmparser::BlockType, wasmparser::FrameKind)> {
        None
    }
}

/// Operators that end the look-ahead whatever their arity: control flow
/// (the value would cross into another block or function).
fn is_control(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        Unreachable
            | Block { .. }
            | Loop { .. }
            | If { .. }
            | Else
            | End
            | Br { .. }
            | BrIf { .. }
            | BrTable { .. }
            | Return
            | Call { .. }
            | CallIndirect { .. }
            | ReturnCall { .. }
            | ReturnCallIndirect { .. }
    )
}

/// Whether the result of `ops[at]` (of `shape`) must be canonicalized
/// right after it: some use of it may see its bits.
fn must_canonicalize(ops: &[Operator<'_>], at: usize, shape: Shape) -> bool {
    // Where the value is: 0 is the top of the operand stack.
    let mut depth = 0usize;
    for op in ops.iter().skip(at + 1).take(LOOKAHEAD) {
        if is_control(op) {
            return true;
        }
        let Some((pops, pushes)) = op.operator_arity(&FixedArity) else {
            return true;
        };
        let (pops, pushes) = (pops as usize, pushes as usize);
        if depth < pops {
            return !takes_unseen(op, pops - 1 - depth, shape);
        }
        depth = depth - pops + pushes;
    }
    true
}

/// A function's extra locals: one scratch local per shape used.
#[derive(Default)]
struct Scratch {
    first: u32,
    f32: Option<u32>,
    f64: Option<u32>,
    v128: Option<u32>,
    added: Vec<ValType>,
}

impl Scratch {
    fn local(&mut self, ty: ValType) -> u32 {
        let slot = match ty {
            ValType::F32 => &mut self.f32,
            ValType::F64 => &mut self.f64,
            _ => &mut self.v128,
        };
        *slot.get_or_insert_with(|| {
            self.added.push(ty);
            self.first + self.added.len() as u32 - 1
        })
    }
}

/// The instructions that replace the value of `shape` on top of the stack
/// by the canonical NaN if it is a NaN (`x == x ? x : canon`, lane-wise).
fn canonicalize(shape: Shape, scratch: &mut Scratch) -> [Instruction<'static>; 6] {
    let splat32 = |bits: u32| (0..4).fold(0i128, |v, i| v | (i128::from(bits) << (32 * i)));
    let splat64 = |bits: u64| i128::from(bits) | (i128::from(bits) << 64);
    let (ty, canon, eq, select) = match shape {
        Shape::F32 => (
            ValType::F32,
            Instruction::F32Const(Ieee32::new(CANON_F32)),
            Instruction::F32Eq,
            Instruction::Select,
        ),
        Shape::F64 => (
            ValType::F64,
            Instruction::F64Const(Ieee64::new(CANON_F64)),
            Instruction::F64Eq,
            Instruction::Select,
        ),
        Shape::F32x4 => (
            ValType::V128,
            Instruction::V128Const(splat32(CANON_F32)),
            Instruction::F32x4Eq,
            Instruction::V128Bitselect,
        ),
        Shape::F64x2 => (
            ValType::V128,
            Instruction::V128Const(splat64(CANON_F64)),
            Instruction::F64x2Eq,
            Instruction::V128Bitselect,
        ),
    };
    let local = scratch.local(ty);
    [
        Instruction::LocalTee(local),
        canon,
        Instruction::LocalGet(local),
        Instruction::LocalGet(local),
        eq,
        select,
    ]
}

/// A core module's re-encoder: functions rewritten, the rest as it was.
#[derive(Default)]
struct Pass {
    /// Parameter count of each type (0 for types that are not functions).
    type_params: Vec<u32>,
    /// Type of each function, imported ones first.
    function_types: Vec<u32>,
    imported_functions: usize,
    /// The next function body's index among the defined functions.
    next_body: usize,
    /// How many float results were left alone, and how many canonicalized.
    left: u64,
    canonicalized: u64,
}

type PassError = ReencodeError<std::convert::Infallible>;

impl Reencode for Pass {
    type Error = std::convert::Infallible;

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), PassError> {
        for group in section.clone() {
            for sub in group?.into_types() {
                self.type_params.push(match &sub.composite_type.inner {
                    wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                    _ => 0,
                });
            }
        }
        wasm_encoder::reencode::utils::parse_type_section(self, types, section)
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), PassError> {
        for import in section.clone().into_imports() {
            if let wasmparser::TypeRef::Func(ty) = import?.ty {
                self.function_types.push(ty);
                self.imported_functions += 1;
            }
        }
        wasm_encoder::reencode::utils::parse_import_section(self, imports, section)
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), PassError> {
        for ty in section.clone() {
            self.function_types.push(ty?);
        }
        wasm_encoder::reencode::utils::parse_function_section(self, functions, section)
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: FunctionBody<'_>,
    ) -> Result<(), PassError> {
        let index = self.imported_functions + self.next_body;
        self.next_body += 1;
        let params = self
            .function_types
            .get(index)
            .and_then(|&ty| self.type_params.get(ty as usize))
            .copied()
            .unwrap_or(0);
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            declared = declared.saturating_add(count);
            locals.push((count, self.val_type(ty)?));
        }
        let mut reader = func.get_operators_reader()?;
        let mut ops = Vec::new();
        while !reader.eof() {
            ops.push(reader.read()?);
        }
        let mut scratch = Scratch {
            first: params.saturating_add(declared),
            ..Scratch::default()
        };
        let mut body = Vec::with_capacity(ops.len());
        for (at, op) in ops.iter().enumerate() {
            body.push(self.instruction(op.clone())?);
            if let Some(shape) = produces(op) {
                if must_canonicalize(&ops, at, shape) {
                    self.canonicalized += 1;
                    body.extend(canonicalize(shape, &mut scratch));
                } else {
                    self.left += 1;
                }
            }
        }
        locals.extend(scratch.added.iter().map(|&ty| (1, ty)));
        let mut f = Function::new(locals);
        for instruction in &body {
            f.instruction(instruction);
        }
        code.function(&f);
        Ok(())
    }
}

/// What [`rewrite`] did: float results left alone and canonicalized.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Float results only ever used where their bits cannot be seen.
    pub left: u64,
    /// Float results canonicalized after their operation.
    pub canonicalized: u64,
}

/// `component` with every core module rewritten (see the module docs);
/// every other byte as it was. An error names what could not be parsed.
pub fn rewrite(component: &[u8]) -> Result<(Vec<u8>, Counts), String> {
    let mut counts = Counts::default();
    let out = rewrite_component(component, &mut counts).map_err(|e| e.to_string())?;
    Ok((out, counts))
}

fn rewrite_module(module: &[u8], counts: &mut Counts) -> Result<Vec<u8>, PassError> {
    let mut pass = Pass::default();
    let mut out = wasm_encoder::Module::new();
    pass.parse_core_module(&mut out, Parser::new(0), module)?;
    counts.left += pass.left;
    counts.canonicalized += pass.canonicalized;
    Ok(out.finish())
}

/// The component's bytes, each core module (section 1) and nested
/// component (section 4) rewritten, the other sections copied.
fn rewrite_component(bytes: &[u8], counts: &mut Counts) -> Result<Vec<u8>, PassError> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut parser = Parser::new(0);
    let (mut at, mut copied) = (0usize, 0usize);
    loop {
        let (consumed, payload) = match parser.parse(&bytes[at..], true)? {
            wasmparser::Chunk::Parsed { consumed, payload } => (consumed, payload),
            wasmparser::Chunk::NeedMoreData(_) => unreachable!("the whole input is given"),
        };
        let nested = match &payload {
            Payload::ModuleSection {
                unchecked_range, ..
            } => Some((1u8, unchecked_range.clone())),
            Payload::ComponentSection {
                unchecked_range, ..
            } => Some((4u8, unchecked_range.clone())),
            Payload::End(_) => break,
            _ => None,
        };
        match nested {
            Some((id, range)) => {
                // The section starts at `at`: its id, its size, its bytes.
                out.extend_from_slice(&bytes[copied..at]);
                let inner = &bytes[range.clone()];
                let new = if id == 1 {
                    rewrite_module(inner, counts)?
                } else {
                    rewrite_component(inner, counts)?
                };
                out.push(id);
                leb128(&mut out, new.len());
                out.extend_from_slice(&new);
                at = range.end;
                copied = range.end;
            }
            None => at += consumed,
        }
    }
    out.extend_from_slice(&bytes[copied..]);
    Ok(out)
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
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
}
