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
//! global, a call or a return, a reinterpretation, a bitwise or integer
//! operation on a vector, `abs`, `neg` and `copysign`, a select, a
//! branch. Before those, the value is replaced by the canonical NaN if it
//! is one, as Cranelift would have done at the operation.
//!
//! A local is a use like a store, but for the locals that only ever hold
//! float results of one shape (`analysis.rs`: a loop's
//! accumulator): those keep the CPU's NaNs, and a read of one is a float
//! result like any other.
//!
//! So every value in memory, in globals, crossing a call, and in every
//! other local, holds exactly the bits it holds under Cranelift's
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
use wasmparser::{FunctionBody, Parser, Payload};

mod analysis;
use analysis::{Analysis, Shape};

/// The pass's version: part of the compile cache's key, so that code
/// compiled by an older pass is not reused.
pub const VERSION: &str = "nans-at-observations-3";

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

/// The canonical NaNs, as Cranelift's canonicalization writes them.
const CANON_F32: u32 = 0x7fc0_0000;
const CANON_F64: u64 = 0x7ff8_0000_0000_0000;

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
            self.first.saturating_add(self.added.len() as u32 - 1)
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
        // Where each run of declared locals ends, and its type.
        let mut runs: Vec<(u32, wasmparser::ValType)> = Vec::new();
        let mut declared = 0u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            declared = declared.saturating_add(count);
            runs.push((params.saturating_add(declared), ty));
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
        let analysis = Analysis::new(&ops, params, |local| {
            let run = runs.partition_point(|&(end, _)| end <= local);
            runs.get(run).map(|&(_, ty)| ty)
        });
        let mut body = Vec::with_capacity(ops.len());
        for (at, op) in ops.iter().enumerate() {
            body.push(self.instruction(op.clone())?);
            if let Some(shape) = analysis.output(op) {
                if analysis.must_canonicalize(&ops, at, shape) {
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
    let out = rewrite_component(component, &mut counts, 0)?;
    Ok((out, counts))
}

fn rewrite_module(module: &[u8], counts: &mut Counts) -> Result<Vec<u8>, String> {
    let mut pass = Pass::default();
    let mut out = wasm_encoder::Module::new();
    pass.parse_core_module(&mut out, Parser::new(0), module)
        .map_err(|e| e.to_string())?;
    counts.left += pass.left;
    counts.canonicalized += pass.canonicalized;
    Ok(out.finish())
}

/// Components nested deeper than this are refused (wit-component nests
/// none; the text format refuses more than about 100): the rewrite
/// recurses once per level, and a file of nested headers could otherwise
/// run it out of stack.
const MAX_NESTING: usize = 100;

/// The component's bytes, each core module (section 1) and nested
/// component (section 4) rewritten, the other sections copied; `depth`
/// components deep.
fn rewrite_component(bytes: &[u8], counts: &mut Counts, depth: usize) -> Result<Vec<u8>, String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "components are nested more than {MAX_NESTING} deep"
        ));
    }
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    let mut parser = Parser::new(0);
    let (mut at, mut copied) = (0usize, 0usize);
    loop {
        let (consumed, payload) = match parser
            .parse(&bytes[at..], true)
            .map_err(|e| e.to_string())?
        {
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
                let inner = bytes.get(range.clone()).ok_or_else(|| {
                    format!(
                        "a nested module or component at byte {} runs past the end ({} bytes)",
                        range.start,
                        bytes.len()
                    )
                })?;
                let new = if id == 1 {
                    rewrite_module(inner, counts)?
                } else {
                    rewrite_component(inner, counts, depth + 1)?
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
mod tests;
