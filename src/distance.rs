//! The one bounded edit distance (Levenshtein: insert, delete, substitute, each cost 1) over
//! any sequence of comparable items: UTF-16 units for ChatMD matching (§M5.1), chars for
//! guichet matching, for the "did you mean" suggestions of `kb` and for misspelt
//! configuration sections. A full table, a diagonal band for small bounds, and a
//! bit-parallel fast path (Myers) when one text has at most 64 items.

/// Plain Levenshtein distance (insert, delete, substitute, each cost 1).
pub fn levenshtein<T: Copy + Eq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &unit_a) in a.iter().enumerate() {
        // `diagonal` is the previous row's value one column to the left.
        let mut diagonal = i;
        let mut left = i + 1;
        for (&unit_b, cell) in b.iter().zip(row.iter_mut().skip(1)) {
            let above = *cell;
            let substitution = diagonal + usize::from(unit_a != unit_b);
            let value = (above + 1).min(left + 1).min(substitution);
            diagonal = above;
            *cell = value;
            left = value;
        }
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
    }
    row.last().copied().unwrap_or(0)
}

/// Widest band [`within_edits`] keeps on the stack (distances up to 3).
const BAND_CAPACITY: usize = 7;

/// Whether `b` is `a` with two neighbouring items swapped (`uesr` for `user`): one slip of
/// the fingers, which [`distance_within`] counts as two edits. Suggestions of a name count it
/// as one; matching, whose distance is ChatMD's, does not.
pub(crate) fn one_swap<T: Copy + Eq>(a: &[T], b: &[T]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut differ = (0..a.len()).filter(|&i| a[i] != b[i]);
    match (differ.next(), differ.next(), differ.next()) {
        (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
        _ => false,
    }
}

/// Whether `levenshtein(a, b) <= max` ([`distance_within`]).
pub(crate) fn within_edits<T: Copy + Eq>(a: &[T], b: &[T], max: usize) -> bool {
    distance_within(a, b, max).is_some()
}

/// `levenshtein(a, b)` when it is at most `max`. Computes only the diagonal band
/// `|i − j| ≤ max` of the distance table, a path leaving the band already costing more than
/// `max`: for the small `max` of §M5.1, a few operations per unit instead of a full table.
/// When either text has 1 to 64 items, the bit-parallel distance is faster still.
pub(crate) fn distance_within<T: Copy + Eq>(a: &[T], b: &[T], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let within = |distance: usize| (distance <= max).then_some(distance);
    if !a.is_empty() && a.len() <= 64 {
        return within(bit_parallel_distance(a, b));
    }
    if !b.is_empty() && b.len() <= 64 {
        // The distance is symmetric: the short text takes the fast path.
        return within(bit_parallel_distance(b, a));
    }
    let over = max + 1;
    let width = 2 * max + 1;
    if width > BAND_CAPACITY {
        return within(levenshtein(a, b));
    }
    // Cell `t` of row `i` is column `j = i + t − max`; values are capped at `over`.
    let mut previous = [over; BAND_CAPACITY];
    for (t, cell) in previous.iter_mut().enumerate().take(width).skip(max) {
        *cell = t - max;
    }
    let mut current = [over; BAND_CAPACITY];
    for (i, &unit_a) in a.iter().enumerate() {
        let row = i + 1;
        let mut row_min = over;
        for t in 0..width {
            let Some(j) = (row + t).checked_sub(max) else {
                current[t] = over;
                continue;
            };
            let value = if j > b.len() {
                over
            } else if j == 0 {
                row.min(over)
            } else {
                let unit_b = b.get(j - 1).copied();
                let diagonal = previous[t] + usize::from(unit_b != Some(unit_a));
                let above = previous.get(t + 1).map_or(over, |v| v + 1);
                let left = t.checked_sub(1).map_or(over, |l| current[l] + 1);
                diagonal.min(above).min(left).min(over)
            };
            current[t] = value;
            row_min = row_min.min(value);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous
        .get(b.len() + max - a.len())
        .copied()
        .and_then(within)
}

/// `levenshtein(a, b)` for `a` of 1 to 64 units, one column of the distance table per unit
/// of `b` held as bit vectors of vertical differences (Myers 1999, with Hyyrö's change for a
/// global distance: the top row grows by one per column). This is the inner check of fuzzy
/// matching, run for every candidate pair of every message.
pub(crate) fn bit_parallel_distance<T: Copy + Eq>(a: &[T], b: &[T]) -> usize {
    // Positions of each distinct unit of `a`: few, so a short list (on the stack) beats a
    // map. (The filler item is never read: only the first `distinct` entries are.)
    let Some(&first) = a.first() else {
        return b.len();
    };
    let mut table = [(first, 0u64); 64];
    let mut distinct = 0;
    for (i, &unit) in a.iter().enumerate() {
        match table[..distinct].iter_mut().find(|(u, _)| *u == unit) {
            Some((_, mask)) => *mask |= 1 << i,
            None => {
                table[distinct] = (unit, 1 << i);
                distinct += 1;
            }
        }
    }
    let masks = &table[..distinct];
    myers(a.len(), b, |unit| {
        masks
            .iter()
            .find(|(u, _)| *u == unit)
            .map_or(0, |&(_, mask)| mask)
    })
}

/// The column recurrence of [`bit_parallel_distance`] for a pattern of `len` units (1 to
/// 64), `equal(unit)` giving the positions where the pattern has `unit`.
#[inline(always)]
pub(crate) fn myers<T: Copy>(len: usize, b: &[T], equal: impl Fn(T) -> u64) -> usize {
    let last = 1u64 << (len - 1);
    let (mut positive, mut negative) = (u64::MAX, 0u64);
    let mut distance = len;
    for &unit in b {
        let equal = equal(unit);
        let vertical = equal | negative;
        let horizontal = (((equal & positive).wrapping_add(positive)) ^ positive) | equal;
        let mut horizontal_positive = negative | !(horizontal | positive);
        let mut horizontal_negative = positive & horizontal;
        if horizontal_positive & last != 0 {
            distance += 1;
        } else if horizontal_negative & last != 0 {
            distance -= 1;
        }
        horizontal_positive = (horizontal_positive << 1) | 1;
        horizontal_negative <<= 1;
        positive = horizontal_negative | !(vertical | horizontal_positive);
        negative = horizontal_positive & vertical;
    }
    distance
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guichet matching compares chars: a typo is one edit, an unrelated word is past the
    /// bound. (ChatMD's tests on UTF-16 units, property tests included, are in `chatmd`.)
    #[test]
    fn chars_within_a_few_edits() {
        let a: Vec<char> = "horaires".chars().collect();
        let b: Vec<char> = "horraires".chars().collect();
        assert_eq!(levenshtein(&a, &b), 1);
        assert_eq!(bit_parallel_distance(&a, &b), 1);
        assert!(within_edits(&a, &b, 1));
        assert!(!within_edits(&a, &b, 0));
        let c: Vec<char> = "zzzzzzzzzz".chars().collect();
        assert!(!within_edits(&a, &c, 2));
        assert_eq!(bit_parallel_distance(&a, &c), levenshtein(&a, &c));
        assert_eq!(bit_parallel_distance(&[], &c), c.len());
    }

    /// The distance itself, within the bound, whichever text is longer than the fast path
    /// takes, and through the band.
    #[test]
    fn one_swap_is_two_neighbours_exchanged() {
        let c = |s: &str| s.chars().collect::<Vec<char>>();
        assert!(one_swap(&c("uesr"), &c("user")));
        assert!(one_swap(&c("ab"), &c("ba")));
        assert!(!one_swap(&c("user"), &c("user")), "no swap");
        assert!(one_swap(&c("usre"), &c("user")), "the last two");
        assert!(!one_swap(&c("rseu"), &c("user")), "far apart");
        assert!(!one_swap(&c("uesrs"), &c("user")), "lengths differ");
        assert!(!one_swap(&c("uexr"), &c("user")), "a substitution");
    }

    #[test]
    fn the_distance_within_a_bound() {
        let chars = |s: &str| s.chars().collect::<Vec<char>>();
        let long = chars(&"horaires ".repeat(10));
        let typo = chars(&format!("{}x", "horaires ".repeat(10)));
        for (a, b, max, expected) in [
            (chars("horaire"), chars("horaires"), 2, Some(1)),
            (chars("matrx"), chars("matrix"), 2, Some(1)),
            (chars("mtarix"), chars("matrix"), 2, Some(2)),
            (chars("amtrxi"), chars("matrix"), 2, None),
            (long.clone(), typo.clone(), 1, Some(1)),
            (typo.clone(), long.clone(), 3, Some(1)),
            (long.clone(), chars("horaires"), 2, None),
            (chars("horaires"), long.clone(), 100, Some(82)),
        ] {
            assert_eq!(distance_within(&a, &b, max), expected, "{a:?} {b:?} {max}");
            assert_eq!(distance_within(&b, &a, max), expected, "{b:?} {a:?} {max}");
        }
        let other = chars(&"zorairez ".repeat(10));
        assert_eq!(
            distance_within(&long, &other, 3),
            None,
            "band, past the bound"
        );
        assert_eq!(
            distance_within(&long, &other, 40),
            Some(levenshtein(&long, &other)).filter(|d| *d <= 40)
        );
    }
}
