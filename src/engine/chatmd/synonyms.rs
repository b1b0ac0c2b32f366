//! §M10: synonym groups, and a message extended with the synonyms of its words.

use super::normalise::normalize;
use super::utf16::strip_chatmd_punctuation;

/// §M10: turns the YAML `synonymes` entries (`"a, b, c"`, one group per entry or per line of
/// the linked file) into groups of normalised members, once per knowledge base.
pub fn prepare_synonym_groups(entries: &[String]) -> Vec<Vec<String>> {
    entries
        .iter()
        .map(|entry| entry.split(',').map(normalize).collect())
        .collect()
}

/// §M10: extends a normalised input with synonyms. `groups` must hold normalised members, as
/// [`prepare_synonym_groups`] returns them.
///
/// For each input word (punctuation of §M6.1 deleted, `/` as a space, split on single spaces),
/// groups are scanned in order: a group with a member equal to the word appends its other
/// members and ends the scan for that word; any other group appends its other members once for
/// each of its multi-word members found in the input as extended so far.
pub fn expand_synonyms(normalised_input: &str, groups: &[Vec<String>]) -> String {
    let mut extended = normalised_input.to_owned();
    if groups.is_empty() {
        return extended;
    }
    let words = strip_chatmd_punctuation(normalised_input).replace('/', " ");
    for word in words.split(' ') {
        for group in groups {
            if group.iter().any(|member| member == word) {
                append_other_members(&mut extended, group, word);
                break;
            }
            for member in group {
                if member.contains(' ') && extended.contains(member.as_str()) {
                    append_other_members(&mut extended, group, member);
                }
            }
        }
    }
    extended
}

/// `input += " " + group.filter(m => m !== found).join(" ")`.
fn append_other_members(extended: &mut String, group: &[String], found: &str) {
    extended.push(' ');
    let mut first = true;
    for member in group.iter().filter(|member| *member != found) {
        if !first {
            extended.push(' ');
        }
        extended.push_str(member);
        first = false;
    }
}
