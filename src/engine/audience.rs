//! Audiences read from the structure of a knowledge base: the welcome's choices that set a
//! variable (`[Je suis enseignant @role=prof](Menu prof)`) split the base into audiences, and
//! a response reachable only through the choices of other audiences is not for this user.
//!
//! A teacher who chose the teachers' profile and asks about "élèves" wants the teachers'
//! answer about pupils, not the pupils' own menu that happens to carry the keyword. What the
//! author writes for one audience inside another's pages (an `` `if @role==aed` `` block, a
//! choice shown only under it) opens those pages to that audience too.

use std::collections::BTreeMap;

use crate::kb::expr::{BinaryOp, Expr};
use crate::kb::{AssignValue, KnowledgeBase, Message, Node, Target};

/// At most this many audiences are told apart (one bit each); a base with more is read as
/// having none.
const MAX_AUDIENCES: usize = 64;

/// Every audience.
const EVERYONE: u64 = u64::MAX;

/// The audiences of a base and which responses are for which.
#[derive(Debug, Default)]
pub struct Audiences {
    /// The `(variable, value)` each audience's welcome choice sets.
    audiences: Vec<(String, String)>,
    /// For each response, the audiences it is for, one bit each.
    masks: Vec<u64>,
}

impl Audiences {
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        let mut audiences: Vec<(String, String)> = Vec::new();
        let mut roots: Vec<(u64, &str)> = Vec::new();
        for choice in &kb.welcome.choices {
            let Target::Response(title) = &choice.target else {
                continue;
            };
            let mask = match &choice.assignment {
                Some((name, AssignValue::Text(values))) if values.len() == 1 => {
                    let key = (name.clone(), values[0].trim().to_string());
                    let at = match audiences.iter().position(|a| *a == key) {
                        Some(at) => at,
                        None => {
                            audiences.push(key);
                            audiences.len() - 1
                        }
                    };
                    if at >= MAX_AUDIENCES {
                        return Self::default();
                    }
                    1 << at
                }
                // A choice that sets nothing (or something computed) is for everyone.
                _ => EVERYONE,
            };
            roots.push((mask, title.as_str()));
        }
        if audiences.len() < 2 {
            // One profile is no split.
            return Self::default();
        }
        let index = kb.index_by_title();
        let leads_to = |message: &Message| -> Vec<usize> {
            let choices = message.choices.iter().filter_map(|c| match &c.target {
                Target::Response(title) => index.get(title.as_str()).copied(),
                _ => None,
            });
            let links = message
                .links
                .iter()
                .filter_map(|l| index.get(l.target.as_str()).copied());
            choices.chain(links).collect()
        };
        let edges: Vec<Vec<usize>> = kb.responses.iter().map(|r| leads_to(&r.message)).collect();
        // Each audience's reach, from its root (iterative: no recursion on an author's graph).
        let mut masks = vec![0_u64; kb.responses.len()];
        let reach = |masks: &mut [u64], root: usize, mask: u64| {
            let mut queue = vec![root];
            while let Some(at) = queue.pop() {
                if masks[at] & mask == mask {
                    continue;
                }
                masks[at] |= mask;
                queue.extend(edges[at].iter().copied());
            }
        };
        for (mask, title) in roots {
            if let Some(&root) = index.get(title) {
                reach(&mut masks, root, mask);
            }
        }
        // Within the welcome's tree, a page with text written under `@role==aed` is for that
        // audience too, and so is a choice shown only under it, with what they lead to.
        let mut written_for: Vec<(usize, u64)> = Vec::new();
        for (i, response) in kb.responses.iter().enumerate() {
            if masks[i] == 0 {
                continue;
            }
            let blocks = response.message.variants.iter();
            let mask = blocks.fold(0, |m, nodes| m | written(nodes, &audiences));
            if mask != 0 {
                written_for.push((i, mask));
            }
            for choice in &response.message.choices {
                let mask = choice
                    .conditions
                    .iter()
                    .fold(0, |m, c| m | named(&c.expr, &audiences));
                if let (Target::Response(title), true) = (&choice.target, mask != 0)
                    && let Some(&target) = index.get(title.as_str())
                {
                    written_for.push((target, mask));
                }
            }
        }
        for (root, mask) in written_for {
            reach(&mut masks, root, mask);
        }
        // What no welcome choice leads to (reached by keywords only) is for everyone.
        for mask in &mut masks {
            if *mask == 0 {
                *mask = EVERYONE;
            }
        }
        Self { audiences, masks }
    }

    /// The audience the user chose, from their variables.
    pub fn of(&self, variables: &BTreeMap<String, String>) -> Option<usize> {
        self.audiences
            .iter()
            .position(|(name, value)| variables.get(name) == Some(value))
    }

    /// Whether a response is for users of `audience` (any response is, when it is `None`).
    pub fn allows(&self, response: usize, audience: Option<usize>) -> bool {
        match (audience, self.masks.get(response)) {
            (Some(audience), Some(mask)) => mask & (1 << audience) != 0,
            _ => true,
        }
    }
}

/// The audiences the text of a message's `if` blocks is written for: a block that holds
/// only choices (they are read with their own conditions) does not count. The parser bounds
/// the nesting.
fn written(nodes: &[Node], audiences: &[(String, String)]) -> u64 {
    nodes.iter().fold(0, |mask, node| match node {
        Node::If {
            condition,
            children,
        } => {
            let text = children
                .iter()
                .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()));
            let own = if text {
                named(&condition.expr, audiences)
            } else {
                0
            };
            mask | own | written(children, audiences)
        }
        Node::ShowOnce(children) => mask | written(children, audiences),
        _ => mask,
    })
}

/// The audiences a condition names as `@variable==value` (`===` too, either way round, on
/// either side of `||` or `&&`), one bit each. The parser bounds the expression's depth.
fn named(expr: &Expr, audiences: &[(String, String)]) -> u64 {
    match expr {
        Expr::Binary(BinaryOp::Or | BinaryOp::And, a, b) => {
            named(a, audiences) | named(b, audiences)
        }
        Expr::Binary(BinaryOp::Eq | BinaryOp::StrictEq, a, b) => {
            let ((Expr::Variable(name), Expr::String(value))
            | (Expr::String(value), Expr::Variable(name))) = (a.as_ref(), b.as_ref())
            else {
                return 0;
            };
            audiences
                .iter()
                .position(|(n, v)| n == name && v == value.trim())
                .map_or(0, |at| 1 << at)
        }
        _ => 0,
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests fail loudly by design
mod tests {
    use super::*;

    const BASE: &str = "# Bot\nQui êtes-vous ?\n\
        1. [Enseignant @role=prof](Menu prof)\n\
        2. [Élève @role=eleve](Menu élève)\n\
        3. [Tout voir](Commun)\n\n\
        ## Menu prof\n- élèves\n1. [Suivre mes élèves](Suivi)\n\n\
        ## Menu élève\n- élève\n1. [Mon compte](Compte)\n\n\
        ## Suivi\nTexte\n\n## Compte\nTexte\n\n## Commun\nTexte\n1. [Compte](Compte)\n\n\
        ## Isolé\n- mot\nTexte\n";

    #[test]
    fn the_welcome_choices_that_set_a_variable_split_the_base() {
        let kb = crate::kb::parse_str("base.md", BASE).kb.expect("parses");
        let audiences = Audiences::for_kb(&kb);
        let prof = audiences.of(&BTreeMap::from([("role".into(), "prof".into())]));
        assert_eq!(prof, Some(0));
        let title = |t: &str| kb.response_index(t).expect("title");
        assert!(audiences.allows(title("Menu prof"), prof));
        assert!(audiences.allows(title("Suivi"), prof));
        assert!(!audiences.allows(title("Menu élève"), prof));
        // Reached from a choice for everyone, or by keywords only: for everyone.
        assert!(audiences.allows(title("Compte"), prof));
        assert!(audiences.allows(title("Isolé"), prof));
        // No profile chosen yet: everything is open.
        assert!(audiences.allows(title("Menu élève"), None));
    }

    #[test]
    fn a_block_or_a_choice_written_for_an_audience_opens_the_page_to_it() {
        let base = "---\ncontenuDynamique: true\n---\n# Bot\nQui êtes-vous ?\n\
            1. [Enseignant @role=prof](Menu prof)\n\
            2. [AED @role=aed](Menu aed)\n\n\
            ## Menu prof\n1. [Appel](Appel)\n2. [Cahier](Cahier)\n\
            `if @role==aed`\n1. [Registre](Registre)\n`endif`\n\n\
            ## Menu aed\nTexte\n\n\
            ## Appel\nPour tous.\n`if @role == \"aed\"`\nPour les AED.\n`endif`\n1. [Suite](Suite)\n\n\
            ## Suite\nTexte\n\n## Cahier\nTexte\n\n## Registre\nTexte\n\n## Prof seulement\n- mot\nTexte\n\
            `if @role==prof`\nLigne\n`endif`\n";
        let kb = crate::kb::parse_str("base.md", base).kb.expect("parses");
        let audiences = Audiences::for_kb(&kb);
        let aed = audiences.of(&BTreeMap::from([("role".into(), "aed".into())]));
        let title = |t: &str| kb.response_index(t).expect("title");
        assert!(audiences.allows(title("Appel"), aed));
        assert!(audiences.allows(title("Suite"), aed));
        assert!(audiences.allows(title("Registre"), aed));
        // A menu that only offers them a choice is not theirs.
        assert!(!audiences.allows(title("Menu prof"), aed));
        assert!(!audiences.allows(title("Cahier"), aed));
        // Outside the welcome's tree a page is for everyone, whatever its blocks say.
        assert!(audiences.allows(title("Prof seulement"), aed));
    }
}
