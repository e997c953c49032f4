//! Evaluation of an [`Expr`] on a batch: every node becomes an array of the batch's length,
//! computed with Arrow kernels (arrow-arith, arrow-ord, arrow-select, arrow-cast).

use std::sync::Arc;

use arrow_arith::arity::unary;
use arrow_arith::boolean::{and_kleene, is_not_null, is_null, not, or_kleene};
use arrow_arith::numeric;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    new_null_array,
};
use arrow_cast::cast::{CastOptions, can_cast_types, cast_with_options};
use arrow_ord::cmp;
use arrow_schema::DataType;
use arrow_select::zip::zip;

use super::{BinaryOp, Expr, Function};

type Eval = Result<ArrayRef, String>;

fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

fn cast(array: &ArrayRef, to: &DataType) -> Eval {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    cast_with_options(array, to, &strict())
        .map_err(|e| format!("cannot read {} as {to}: {e}", array.data_type()))
}

fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The type two operands are compared or combined in.
fn common_type(a: &DataType, b: &DataType) -> Result<DataType, String> {
    use DataType::*;
    Ok(match (a, b) {
        (Null, other) | (other, Null) => other.clone(),
        (x, y) if x == y => x.clone(),
        (x, y) if x.is_integer() && y.is_integer() => Int64,
        (x, y) if x.is_numeric() && y.is_numeric() => Float64,
        (x, y) if is_text(x) && is_text(y) => Utf8,
        // A string literal next to a temporal column is read as that type.
        (t, s) | (s, t) if t.is_temporal() && is_text(s) => t.clone(),
        (x, y) if matches!(x, Dictionary(..)) || matches!(y, Dictionary(..)) => Utf8,
        (x, y) => return Err(format!("{x} and {y} do not go together")),
    })
}

fn boolean(array: &ArrayRef, what: &str) -> Result<BooleanArray, String> {
    match array.data_type() {
        DataType::Boolean => Ok(array.as_boolean().clone()),
        DataType::Null => Ok(BooleanArray::new_null(array.len())),
        other => Err(format!("{what} needs booleans, not {other}")),
    }
}

pub(super) fn evaluate(expr: &Expr, batch: &RecordBatch) -> Eval {
    let rows = batch.num_rows();
    match expr {
        Expr::Column(name) => batch.column_by_name(name).cloned().ok_or_else(|| {
            let names: Vec<&String> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name())
                .collect();
            format!("no column {name:?} (columns: {names:?})")
        }),
        Expr::Int(v) => Ok(Arc::new(Int64Array::from_value(*v, rows))),
        Expr::Float(v) => Ok(Arc::new(Float64Array::from_value(*v, rows))),
        Expr::Str(v) => Ok(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(v.as_str(), rows),
        ))),
        Expr::Bool(v) => Ok(Arc::new(BooleanArray::from(vec![*v; rows]))),
        Expr::Null => Ok(new_null_array(&DataType::Null, rows)),
        Expr::Neg(inner) => {
            let value = evaluate(inner, batch)?;
            if !value.data_type().is_numeric() {
                return Err(format!("cannot negate {}", value.data_type()));
            }
            numeric::neg(&value).map_err(|e| e.to_string())
        }
        Expr::Not(inner) => {
            let value = boolean(&evaluate(inner, batch)?, "`not`")?;
            Ok(Arc::new(not(&value).map_err(|e| e.to_string())?))
        }
        Expr::Binary(op, a, b) => binary(*op, evaluate(a, batch)?, evaluate(b, batch)?),
        Expr::Call(function, args) => {
            let args = args
                .iter()
                .map(|a| evaluate(a, batch))
                .collect::<Result<Vec<_>, _>>()?;
            call(*function, args, expr)
        }
    }
}

fn binary(op: BinaryOp, a: ArrayRef, b: ArrayRef) -> Eval {
    use BinaryOp::*;
    match op {
        And | Or => {
            let (a, b) = (boolean(&a, "`and`/`or`")?, boolean(&b, "`and`/`or`")?);
            let out = if op == And {
                and_kleene(&a, &b)
            } else {
                or_kleene(&a, &b)
            };
            return Ok(Arc::new(out.map_err(|e| e.to_string())?));
        }
        _ => {}
    }
    let mut common = common_type(a.data_type(), b.data_type())?;
    if matches!(op, Add | Sub | Mul | Div | Rem) {
        if !(common.is_numeric() || common == DataType::Null) {
            return Err(format!("arithmetic needs numbers, not {common}"));
        }
        if op == Div || common == DataType::Null {
            common = DataType::Float64;
        } else if common.is_integer() {
            common = DataType::Int64;
        } else {
            common = DataType::Float64;
        }
    }
    if common == DataType::Null {
        // null compared with null: null.
        return Ok(new_null_array(&DataType::Boolean, a.len()));
    }
    let (a, b) = (cast(&a, &common)?, cast(&b, &common)?);
    let out: ArrayRef = match op {
        Add => numeric::add(&a, &b).map_err(|e| e.to_string())?,
        Sub => numeric::sub(&a, &b).map_err(|e| e.to_string())?,
        Mul => numeric::mul(&a, &b).map_err(|e| e.to_string())?,
        Div => numeric::div(&a, &b).map_err(|e| e.to_string())?,
        Rem => numeric::rem(&a, &b).map_err(|e| e.to_string())?,
        Eq => Arc::new(cmp::eq(&a, &b).map_err(|e| e.to_string())?),
        Ne => Arc::new(cmp::neq(&a, &b).map_err(|e| e.to_string())?),
        Lt => Arc::new(cmp::lt(&a, &b).map_err(|e| e.to_string())?),
        Le => Arc::new(cmp::lt_eq(&a, &b).map_err(|e| e.to_string())?),
        Gt => Arc::new(cmp::gt(&a, &b).map_err(|e| e.to_string())?),
        Ge => Arc::new(cmp::gt_eq(&a, &b).map_err(|e| e.to_string())?),
        And | Or => return Err("unreachable".into()),
    };
    Ok(out)
}

fn call(function: Function, mut args: Vec<ArrayRef>, expr: &Expr) -> Eval {
    let first = args.first().cloned().ok_or("a function needs arguments")?;
    match function {
        Function::IsNull => Ok(Arc::new(is_null(&first).map_err(|e| e.to_string())?)),
        Function::IsNotNull => Ok(Arc::new(is_not_null(&first).map_err(|e| e.to_string())?)),
        Function::Abs => match first.data_type() {
            t if t.is_integer() => {
                let ints = cast(&first, &DataType::Int64)?;
                let ints = ints.as_primitive::<Int64Type>();
                if ints.iter().flatten().any(|v| v == i64::MIN) {
                    return Err("abs overflows an int64".into());
                }
                Ok(Arc::new(unary::<_, _, Int64Type>(ints, i64::abs)))
            }
            t if t.is_numeric() => {
                let floats = cast(&first, &DataType::Float64)?;
                Ok(Arc::new(unary::<_, _, Float64Type>(
                    floats.as_primitive::<Float64Type>(),
                    f64::abs,
                )))
            }
            DataType::Null => Ok(first),
            other => Err(format!("abs needs a number, not {other}")),
        },
        Function::Round => {
            let digits = match expr {
                Expr::Call(_, e) => match e.get(1) {
                    Some(Expr::Int(d)) => *d as i32,
                    _ => 0,
                },
                _ => 0,
            };
            match first.data_type() {
                t if t.is_integer() && digits >= 0 => Ok(first),
                t if t.is_numeric() => {
                    let floats = cast(&first, &DataType::Float64)?;
                    let scale = 10f64.powi(digits);
                    Ok(Arc::new(unary::<_, _, Float64Type>(
                        floats.as_primitive::<Float64Type>(),
                        |v| (v * scale).round_ties_even() / scale,
                    )))
                }
                DataType::Null => Ok(first),
                other => Err(format!("round needs a number, not {other}")),
            }
        }
        Function::Coalesce => {
            let mut common = DataType::Null;
            for arg in &args {
                common = common_type(&common, arg.data_type())?;
            }
            let mut out = cast(&args.remove(0), &common)?;
            for next in args {
                let next = cast(&next, &common)?;
                if !can_cast_types(next.data_type(), &common) {
                    return Err(format!(
                        "coalesce cannot mix {common} and {}",
                        next.data_type()
                    ));
                }
                let present = is_not_null(&out).map_err(|e| e.to_string())?;
                out = zip(&present, &out, &next).map_err(|e| e.to_string())?;
            }
            Ok(out)
        }
    }
}
