//! Which float results the pass canonicalizes: what each operator
//! produces and takes, followed along the straight-line code.

use wasmparser::Operator;

/// The shape of a float value whose NaNs may not be canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    F32,
    F64,
    F32x4,
    F64x2,
}

/// The shape of what `op` outputs when its result may be a NaN whose bits
/// the CPU chose (float arithmetic), or that comes unchanged from an input
/// that may be (lane moves).
pub(super) fn produces(op: &Operator<'_>) -> Option<Shape> {
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

/// How far ahead the look-ahead goes before giving up (canonicalizing):
/// a bound on the pass's time for long straight-line functions.
const LOOKAHEAD: usize = 64;

/// Where the one value `ops[at]` pushes is taken: the taking operator's
/// index and which of its operands the value is (0 is the first, the
/// deepest on the stack). `None` when the value leaves the straight line
/// of code (a control instruction, an operator of no fixed arity, the end
/// of the look-ahead) before it is taken.
fn taker(ops: &[Operator<'_>], at: usize) -> Option<(usize, usize)> {
    // Where the value is: 0 is the top of the operand stack.
    let mut depth = 0usize;
    for (j, op) in ops.iter().enumerate().skip(at + 1).take(LOOKAHEAD) {
        if is_control(op) {
            return None;
        }
        let (pops, pushes) = op.operator_arity(&FixedArity)?;
        let (pops, pushes) = (pops as usize, pushes as usize);
        if depth < pops {
            return Some((j, pops - 1 - depth));
        }
        depth = depth - pops + pushes;
    }
    None
}

/// A function's code, analysed: which float results may be NaNs of the
/// CPU's choosing, and which locals may hold them.
///
/// A local may hold such NaNs ("lazy") when every value written to it is
/// a float result of one shape (or a constant that is not a NaN, or a read
/// of another lazy local of that shape) taken by the write in the straight
/// line of code. Then a write needs no canonicalization, and a read of it
/// is a float result like any other, canonicalized where its use could see
/// its bits: the bits Cranelift's canonicalization would have written to
/// it. Loop accumulators are such locals. A local that may hold anything
/// else (a load, a parameter, an integer vector) holds canonical values
/// only: canonicalizing a value read from memory would change bits
/// Cranelift leaves alone.
pub(super) struct Analysis {
    lazy: std::collections::HashMap<u32, Shape>,
    /// Per operator that pushes one value, where the value is taken
    /// ([`taker`]).
    takers: Vec<Option<(usize, usize)>>,
}

impl Analysis {
    /// The analysis of `ops`, a function whose locals from `first_local`
    /// on (after its parameters) have the types `local_type` gives.
    pub(super) fn new(
        ops: &[Operator<'_>],
        first_local: u32,
        local_type: impl Fn(u32) -> Option<wasmparser::ValType>,
    ) -> Analysis {
        use std::collections::HashMap;
        use wasmparser::ValType;
        let takers: Vec<Option<(usize, usize)>> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let one = matches!(op.operator_arity(&FixedArity), Some((_, 1)));
                (one && !is_control(op)).then(|| taker(ops, i)).flatten()
            })
            .collect();
        // The operator whose value each write takes.
        let mut source: HashMap<usize, usize> = HashMap::new();
        for (i, taken) in takers.iter().enumerate() {
            if let Some((j, 0)) = *taken
                && matches!(
                    ops[j],
                    Operator::LocalSet { .. } | Operator::LocalTee { .. }
                )
            {
                source.insert(j, i);
            }
        }
        let mut writes: HashMap<u32, Vec<usize>> = HashMap::new();
        for (j, op) in ops.iter().enumerate() {
            if let Operator::LocalSet { local_index } | Operator::LocalTee { local_index } = op
                && *local_index >= first_local
            {
                writes.entry(*local_index).or_default().push(j);
            }
        }
        // Each candidate's shape: its type's, or for a vector the one
        // shape of the float results written to it.
        let mut lazy: HashMap<u32, Shape> = HashMap::new();
        for (&local, at) in &writes {
            let shape = match local_type(local) {
                Some(ValType::F32) => Some(Shape::F32),
                Some(ValType::F64) => Some(Shape::F64),
                Some(ValType::V128) => {
                    let mut shapes = at
                        .iter()
                        .filter_map(|j| source.get(j).and_then(|&i| produces(&ops[i])));
                    let first = shapes.next();
                    first.filter(|&s| shapes.all(|t| t == s))
                }
                _ => None,
            };
            if let Some(shape) = shape {
                lazy.insert(local, shape);
            }
        }
        // Drop the locals some write of which is not of their shape, until
        // none is left to drop (a drop can make a read of it unfit).
        loop {
            let unfit: Vec<u32> = lazy
                .iter()
                .filter(|&(local, &shape)| {
                    !writes[local]
                        .iter()
                        .all(|j| source.get(j).is_some_and(|&i| fits(&ops[i], shape, &lazy)))
                })
                .map(|(&local, _)| local)
                .collect();
            if unfit.is_empty() {
                return Analysis { lazy, takers };
            }
            for local in unfit {
                lazy.remove(&local);
            }
        }
    }

    /// The shape of the float result `op` pushes that may be a NaN of the
    /// CPU's choosing: float arithmetic, a lane move, a lazy local read.
    pub(super) fn output(&self, op: &Operator<'_>) -> Option<Shape> {
        match op {
            Operator::LocalGet { local_index } | Operator::LocalTee { local_index } => {
                self.lazy.get(local_index).copied()
            }
            _ => produces(op),
        }
    }

    /// Whether the result of `ops[at]` (of `shape`) must be canonicalized
    /// right after it: some use of it may see its bits.
    pub(super) fn must_canonicalize(&self, ops: &[Operator<'_>], at: usize, shape: Shape) -> bool {
        match self.takers.get(at).copied().flatten() {
            None => true,
            Some((j, _)) => match &ops[j] {
                // Written to a local that may hold other values: unseen
                // only if every read of it is, up to its next write.
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index }
                    if self.lazy.get(local_index) != Some(&shape) =>
                {
                    !self.read_unseen(ops, j, *local_index, shape)
                }
                _ => !self.taken_unseen(ops, at, shape),
            },
        }
    }

    /// Whether the value `ops[at]` pushes (of `shape`) is taken where its
    /// bits cannot be seen, or written to a lazy local of its shape.
    fn taken_unseen(&self, ops: &[Operator<'_>], at: usize, shape: Shape) -> bool {
        match self.takers.get(at).copied().flatten() {
            None => false,
            Some((j, operand)) => match &ops[j] {
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                    self.lazy.get(local_index) == Some(&shape)
                }
                op => takes_unseen(op, operand, shape),
            },
        }
    }

    /// Whether the value written to `local` (one that may hold other
    /// values, so its reads are not float results the pass follows) by
    /// `ops[write]` is only read where its bits cannot be seen: every read
    /// of it, and the value a `local.tee` pushes, is taken unseen, and the
    /// local is written again before the straight line of code ends (so
    /// no read after a branch, a loop's next turn or a call can find it).
    /// LLVM reuses a local for values of all kinds, so without this a
    /// temporary such as `d` in `d * d` would be canonicalized.
    fn read_unseen(&self, ops: &[Operator<'_>], write: usize, local: u32, shape: Shape) -> bool {
        if matches!(ops[write], Operator::LocalTee { .. }) && !self.taken_unseen(ops, write, shape)
        {
            return false;
        }
        for (at, op) in ops.iter().enumerate().skip(write + 1).take(READS_LOOKAHEAD) {
            match op {
                Operator::LocalGet { local_index }
                    if *local_index == local && !self.taken_unseen(ops, at, shape) =>
                {
                    return false;
                }
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index }
                    if *local_index == local =>
                {
                    return true;
                }
                op if is_control(op) => return false,
                _ => {}
            }
        }
        false
    }
}

/// How far the reads of a value written to a local that may hold other
/// values are looked for before giving up (canonicalizing it).
const READS_LOOKAHEAD: usize = 256;

/// Whether a value pushed by `op` may be written to a lazy local of
/// `shape`: a float result of that shape, a constant that is not a NaN,
/// or a read of a lazy local of that shape.
fn fits(op: &Operator<'_>, shape: Shape, lazy: &std::collections::HashMap<u32, Shape>) -> bool {
    match op {
        Operator::F32Const { value } => {
            shape == Shape::F32 && !f32::from_bits(value.bits()).is_nan()
        }
        Operator::F64Const { value } => {
            shape == Shape::F64 && !f64::from_bits(value.bits()).is_nan()
        }
        Operator::V128Const { value } => {
            let bits = u128::from_le_bytes(*value.bytes());
            match shape {
                Shape::F32x4 => (0..4).all(|i| !f32::from_bits((bits >> (32 * i)) as u32).is_nan()),
                Shape::F64x2 => (0..2).all(|i| !f64::from_bits((bits >> (64 * i)) as u64).is_nan()),
                _ => false,
            }
        }
        Operator::LocalGet { local_index } | Operator::LocalTee { local_index } => {
            lazy.get(local_index) == Some(&shape)
        }
        _ => produces(op) == Some(shape),
    }
}
