//! The sandbox a script runs in: a raw Rhai engine (no module resolver, no I/O), `eval`
//! refused, and the [`ScriptLimits`] on operations, depth, sizes and wall time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use collectors_core::{Error, Result};
use rhai::debugger::{DebuggerCommand, DebuggerEvent};
use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, ParseError, Position, Shared};
use serde::{Deserialize, Serialize};

/// The largest [`max_call_levels`](ScriptLimits::max_call_levels) accepted: the script
/// thread's stack is sized for it.
pub const MAX_CALL_LEVELS: usize = 256;

/// The stack of the thread a script runs on: deep enough for [`MAX_CALL_LEVELS`] calls of
/// an unoptimised build, so that recursion ends in a typed error, never a stack overflow.
const SCRIPT_STACK_BYTES: usize = 256 << 20;

/// How often (in operations) the wall-clock deadline is checked.
const CLOCK_EVERY_OPS: u64 = 4096;

/// How often (in steps) the sizes of the variables in scope are checked.
const SIZE_CHECK_EVERY_STEPS: u64 = 256;

/// The limits of one script call (one batch). Every limit must be at least 1: a sandbox
/// is never unlimited. A script that reaches one is stopped with an
/// [`Error::Processing`] that names the script, the line and the limit.
///
/// ```
/// use collectors_processors::ScriptLimits;
///
/// let limits: ScriptLimits = serde_json::from_str(r#"{"timeout_ms": 500}"#).unwrap();
/// assert_eq!(limits.timeout_ms, 500);
/// assert_eq!(limits.max_operations, ScriptLimits::default().max_operations);
/// limits.check().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ScriptLimits {
    /// Operations (roughly: expressions evaluated) per call. Default 50 000 000.
    pub max_operations: u64,
    /// Wall time per call, in milliseconds (checked through Rhai's `on_progress`).
    /// Default 10 000.
    pub timeout_ms: u64,
    /// Nested function calls (recursion depth), at most [`MAX_CALL_LEVELS`]. Default 64.
    pub max_call_levels: usize,
    /// Nesting of an expression at the top level of the script. Default 64.
    pub max_expr_depth: usize,
    /// Nesting of an expression inside a function. Default 32.
    pub max_function_expr_depth: usize,
    /// Bytes of one string. Default 10 MiB.
    pub max_string_size: usize,
    /// Elements of one array; a batch with more rows than this is refused before the
    /// script runs. Default 1 048 576 (the decoders' largest batch).
    pub max_array_size: usize,
    /// Entries of one object map; a batch with more columns is refused. Default 100 000.
    pub max_map_size: usize,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            max_operations: 50_000_000,
            timeout_ms: 10_000,
            max_call_levels: 64,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 10 << 20,
            max_array_size: 1 << 20,
            max_map_size: 100_000,
        }
    }
}

impl ScriptLimits {
    /// A configuration error naming the first limit that is 0 (which Rhai reads as
    /// "unlimited") or too large.
    ///
    /// ```
    /// use collectors_processors::ScriptLimits;
    ///
    /// let limits = ScriptLimits { max_operations: 0, ..ScriptLimits::default() };
    /// let err = limits.check().unwrap_err();
    /// assert!(err.to_string().contains("`limits.max_operations`"));
    /// ```
    pub fn check(&self) -> Result<()> {
        let limits: [(&str, u64); 8] = [
            ("max_operations", self.max_operations),
            ("timeout_ms", self.timeout_ms),
            ("max_call_levels", self.max_call_levels as u64),
            ("max_expr_depth", self.max_expr_depth as u64),
            (
                "max_function_expr_depth",
                self.max_function_expr_depth as u64,
            ),
            ("max_string_size", self.max_string_size as u64),
            ("max_array_size", self.max_array_size as u64),
            ("max_map_size", self.max_map_size as u64),
        ];
        if let Some((key, _)) = limits.iter().find(|(_, value)| *value == 0) {
            return Err(Error::configuration(format!(
                "`limits.{key}` must be at least 1 (a script is never unlimited)"
            )));
        }
        if self.max_call_levels > MAX_CALL_LEVELS {
            return Err(Error::configuration(format!(
                "`limits.max_call_levels` must be at most {MAX_CALL_LEVELS}"
            )));
        }
        Ok(())
    }

    /// The engine a script is compiled and run with: raw (no module resolver, so `import`
    /// finds nothing; no file, network or process functions exist in Rhai's standard
    /// packages), `eval` disabled, `sleep` replaced by an error, undeclared variables refused at compile time, `print`
    /// and `debug` sent to `tracing`, these limits set, and with a `deadline` the call
    /// stopped once it passes. With a [`Tracker`], the engine records the position of each
    /// step it takes, which names the line of a limit's error (Rhai reports those at the
    /// outermost call).
    pub(crate) fn engine(&self, deadline: Option<Instant>, tracker: Option<&Tracker>) -> Engine {
        let mut engine = Engine::new_raw();
        engine.register_global_module(standard_package());
        engine.disable_symbol("eval");
        // The core package's `sleep` blocks the thread where no deadline can reach it.
        engine.register_fn(
            "sleep",
            |_: i64| -> std::result::Result<(), Box<EvalAltResult>> {
                Err("`sleep` is not available to scripts".into())
            },
        );
        engine.register_fn(
            "sleep",
            |_: f64| -> std::result::Result<(), Box<EvalAltResult>> {
                Err("`sleep` is not available to scripts".into())
            },
        );
        engine.set_strict_variables(true);
        engine.set_max_operations(self.max_operations);
        engine.set_max_call_levels(self.max_call_levels);
        engine.set_max_expr_depths(self.max_expr_depth, self.max_function_expr_depth);
        engine.set_max_string_size(self.max_string_size);
        engine.set_max_array_size(self.max_array_size);
        engine.set_max_map_size(self.max_map_size);
        engine.on_print(|text| tracing::info!(target: "collectors::script", "{text}"));
        engine.on_debug(|text, source, position| {
            tracing::debug!(
                target: "collectors::script",
                source = source.unwrap_or_default(),
                line = position.line().unwrap_or_default(),
                "{text}"
            );
        });
        if let Some(deadline) = deadline {
            engine.on_progress(move |ops| {
                (ops.is_multiple_of(CLOCK_EVERY_OPS) && Instant::now() >= deadline)
                    .then(|| Dynamic::from("timeout"))
            });
        }
        if let Some(tracker) = tracker {
            let last = tracker.0.clone();
            let steps = AtomicU64::new(0);
            let sizes = Sizes::from(self);
            // Rhai marks this API volatile (it is stable in practice); stepping into every
            // node is what keeps the debugger calling back.
            #[allow(deprecated)]
            engine.register_debugger(
                |_, debugger| debugger,
                move |context, event, _, _, position| {
                    // A function's exit reports its closing brace: not where it stopped.
                    let step = matches!(event, DebuggerEvent::Step | DebuggerEvent::Start);
                    if let (true, Some(line)) = (step, position.line()) {
                        let column = position.position().unwrap_or(0) as u64;
                        last.store(((line as u64) << 32) | column, Ordering::Relaxed);
                    }
                    if steps
                        .fetch_add(1, Ordering::Relaxed)
                        .is_multiple_of(SIZE_CHECK_EVERY_STEPS)
                    {
                        for (_, _, value) in context.scope().iter_raw() {
                            if let Some(what) = sizes.exceeded(value, 2) {
                                return Err(EvalAltResult::ErrorDataTooLarge(
                                    what.to_owned(),
                                    position,
                                )
                                .into());
                            }
                        }
                    }
                    Ok(DebuggerCommand::StepInto)
                },
            );
        }
        engine
    }

    /// The deadline of a call starting now.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.timeout_ms)
    }
}

/// Rhai's standard packages (arithmetic, logic, strings, arrays, maps, math, time), built
/// once and shared by every engine.
fn standard_package() -> Shared<rhai::Module> {
    static PACKAGE: OnceLock<Shared<rhai::Module>> = OnceLock::new();
    PACKAGE
        .get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

/// The size limits, checked on the variables in scope: Rhai checks the size of what an
/// operation returns, but not of a map that `m[key] = value` grows by one new key.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    string: usize,
    array: usize,
    map: usize,
}

impl From<&ScriptLimits> for Sizes {
    fn from(limits: &ScriptLimits) -> Self {
        Self {
            string: limits.max_string_size,
            array: limits.max_array_size,
            map: limits.max_map_size,
        }
    }
}

impl Sizes {
    /// What is too large in `value`, looking `depth` levels into maps (the values of a
    /// map, not the elements of arrays, so a table's columns cost one look each).
    fn exceeded(&self, value: &Dynamic, depth: usize) -> Option<&'static str> {
        if let Some(map) = value.read_lock::<rhai::Map>() {
            if map.len() > self.map {
                return Some("Size of object map");
            }
            if depth > 1 {
                return map.values().find_map(|v| self.exceeded(v, depth - 1));
            }
        } else if let Some(array) = value.read_lock::<rhai::Array>() {
            if array.len() > self.array {
                return Some("Size of array/BLOB");
            }
        } else if let Some(text) = value.read_lock::<rhai::ImmutableString>()
            && text.len() > self.string
        {
            return Some("Length of string");
        }
        None
    }
}

/// The position of the last step a script took.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tracker(Arc<AtomicU64>);

impl Tracker {
    /// The last position recorded, if any.
    fn position(&self) -> Position {
        let packed = self.0.load(Ordering::Relaxed);
        let line = (packed >> 32) as usize;
        if line == 0 {
            return Position::NONE;
        }
        Position::new(
            u16::try_from(line).unwrap_or(u16::MAX),
            u16::try_from(packed & 0xffff_ffff).unwrap_or(u16::MAX),
        )
    }
}

/// Runs `work` on a thread of its own with a stack deep enough for the call limits; a
/// panic inside becomes a processing error instead of reaching the caller.
pub(crate) fn on_script_thread<T: Send>(
    script: &str,
    work: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("collectors-script".to_owned())
            .stack_size(SCRIPT_STACK_BYTES)
            .spawn_scoped(scope, work)
            .map_err(|e| {
                Error::processing(format!("script `{script}`: cannot start its thread"))
                    .with_source(e)
            })?;
        handle.join().unwrap_or_else(|_| {
            Err(Error::processing(format!(
                "script `{script}`: the script engine panicked"
            )))
        })
    })
}

/// `line N` of a position, or `""` when Rhai gives none.
fn at_line(position: Position) -> String {
    match position.line() {
        Some(line) => format!(" at line {line}"),
        None => String::new(),
    }
}

/// Rhai's message without the ` (line L, position P)` it appends.
fn without_position(message: String, position: Position) -> String {
    let suffix = format!(" ({position})");
    match message.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => message,
    }
}

/// The configuration error of a script that does not compile, naming its file and line.
pub(crate) fn parse_error(script: &str, path: &std::path::Path, err: ParseError) -> Error {
    let position = err.position();
    let message = without_position(err.to_string(), position);
    Error::configuration(format!(
        "script `{script}` ({}){}: syntax error: {message}",
        path.display(),
        at_line(position)
    ))
}

/// The processing error of a script stopped by an error, a `throw` or a limit: names the
/// script, the line where it stopped and, for a limit, which one.
pub(crate) fn eval_error(
    script: &str,
    limits: &ScriptLimits,
    err: &EvalAltResult,
    tracker: &Tracker,
) -> Error {
    let inner = err.unwrap_inner();
    // Rhai moves the position of a limit's error to the outermost call site, so the
    // tracker's last step is where the script stopped.
    let position = if inner.is_system_exception() || inner.position().is_none() {
        let tracked = tracker.position();
        if tracked.is_none() {
            err.position()
        } else {
            tracked
        }
    } else {
        inner.position()
    };
    let what = match inner {
        EvalAltResult::ErrorTooManyOperations(_) => format!(
            "ran more than `limits.max_operations` = {} operations",
            limits.max_operations
        ),
        EvalAltResult::ErrorTerminated(..) => format!(
            "ran longer than `limits.timeout_ms` = {} ms",
            limits.timeout_ms
        ),
        EvalAltResult::ErrorStackOverflow(_) => format!(
            "called functions deeper than `limits.max_call_levels` = {}",
            limits.max_call_levels
        ),
        EvalAltResult::ErrorDataTooLarge(what, _) => {
            let limit = if what.contains("string") {
                format!(
                    "`limits.max_string_size` = {} bytes",
                    limits.max_string_size
                )
            } else if what.contains("array") {
                format!("`limits.max_array_size` = {}", limits.max_array_size)
            } else {
                format!("`limits.max_map_size` = {}", limits.max_map_size)
            };
            format!("{what} exceeds {limit}")
        }
        EvalAltResult::ErrorRuntime(value, _) => format!("threw {value}"),
        other => without_position(other.to_string(), other.position()),
    };
    Error::processing(format!(
        "script `{script}` stopped{}: {what}",
        at_line(position)
    ))
}
