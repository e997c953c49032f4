//! [`MAX_JSON_DEPTH`]: the nesting limit of a JSON line, checked before any parser runs.

/// The deepest nesting of arrays and objects a JSON line may have (the line's object is
/// level 1). A deeper line is rejected as a row before any JSON parser sees it, so that a
/// hostile line cannot exhaust the stack.
pub const MAX_JSON_DEPTH: usize = 128;

/// Whether `line` nests arrays and objects deeper than `max` (brackets inside strings do not
/// count). Cheap for ordinary lines: only a line with more than `max` opening brackets is
/// scanned for real.
pub(super) fn nested_deeper_than(line: &[u8], max: usize) -> bool {
    if line.len() <= max {
        return false;
    }
    let opening = line.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opening <= max {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in line {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}
