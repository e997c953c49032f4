//! Cutting data into chunks the way a network or a file reader might: sizes of one byte, a
//! few bytes, or the whole, decided by one byte of the input.

/// The chunks `data` is fed in, decided by `seed`: `0` feeds it whole; otherwise the low
/// nibble is the largest chunk size (1 to 15 bytes) and the sizes come from a xorshift
/// sequence seeded by the whole byte, so that lines, `\r\n` pairs, UTF-8 sequences and byte
/// order marks straddle chunk boundaries.
pub fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    if seed == 0 || data.is_empty() {
        return vec![data];
    }
    let largest = usize::from(seed & 0x0f).max(1);
    let mut state = u32::from(seed) | 0x9e37_7900;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (state as usize % largest + 1).min(rest.len());
        let (chunk, after) = rest.split_at(size);
        out.push(chunk);
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_data_in_order() {
        let data: Vec<u8> = (0..=255).collect();
        for seed in 0..=255u8 {
            let parts = chunks(&data, seed);
            assert_eq!(parts.concat(), data, "seed {seed}");
            assert!(parts.iter().all(|c| !c.is_empty()));
            if seed & 0x0f == 1 {
                assert!(parts.iter().all(|c| c.len() == 1));
            }
        }
    }
}
