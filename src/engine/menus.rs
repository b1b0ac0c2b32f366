//! The menu structure of a knowledge base: how many choices below the welcome each response
//! is, so that a menu is told from the pages it offers, and a page's choice back to its menu
//! (`[Menu Pix Orga](Menu Pix Orga)`) does not make the page a menu of its menu.

use super::hash::FastMap;
use crate::kb::{KnowledgeBase, Target};

/// How deep each response is.
#[derive(Debug, Default)]
pub struct Menus {
    /// Choices from the welcome's (0), or from a response no choice leads to (0 too): a
    /// base may be a set of menus reached by keywords. `u32::MAX` for what no choice from
    /// those reaches (a cycle of pages nothing enters).
    depth: Vec<u32>,
}

impl Menus {
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        let mut index: FastMap<&str, usize> = FastMap::default();
        for (i, response) in kb.responses.iter().enumerate() {
            index.entry(response.title.as_str()).or_insert(i);
        }
        let targets = |choices: &[crate::kb::Choice]| -> Vec<usize> {
            choices
                .iter()
                .filter_map(|c| match &c.target {
                    Target::Response(title) => index.get(title.as_str()).copied(),
                    _ => None,
                })
                .collect()
        };
        let edges: Vec<Vec<usize>> = kb
            .responses
            .iter()
            .map(|r| targets(&r.message.choices))
            .collect();
        let mut entered = vec![false; kb.responses.len()];
        for &to in edges.iter().flatten() {
            entered[to] = true;
        }
        let mut depth = vec![u32::MAX; kb.responses.len()];
        let mut level: Vec<usize> = targets(&kb.welcome.choices);
        level.extend((0..kb.responses.len()).filter(|&i| !entered[i]));
        // Breadth first, level by level (iterative: no recursion on an author's graph).
        let mut at = 0;
        while !level.is_empty() {
            let mut next = Vec::new();
            for i in level {
                if depth[i] == u32::MAX {
                    depth[i] = at;
                    next.extend(edges[i].iter().copied());
                }
            }
            level = next;
            at += 1;
        }
        Self { depth }
    }

    /// Whether response `menu` is nearer the welcome than response `page`.
    pub fn above(&self, menu: usize, page: usize) -> bool {
        match (self.depth.get(menu), self.depth.get(page)) {
            (Some(menu), Some(page)) => menu < page,
            _ => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn a_back_link_does_not_put_a_page_above_its_menu() {
        let base = "# Bot\nBienvenue.\n1. [Orga](Menu orga)\n\
            ## Menu orga\n1. [Inviter](Inviter)\n2. [Accès](Accès)\n\
            ## Inviter\nTexte\n1. [Menu orga](Menu orga)\n\
            ## Accès\nTexte\n1. [Menu orga](Menu orga)\n\
            ## Isolé\n- mot\n1. [Détail](Détail)\n## Détail\nTexte\n";
        let kb = crate::kb::parse_str("base.md", base).kb.expect("parses");
        let menus = Menus::for_kb(&kb);
        let title = |t: &str| kb.response_index(t).expect("title");
        assert!(menus.above(title("Menu orga"), title("Inviter")));
        assert!(!menus.above(title("Inviter"), title("Menu orga")));
        assert!(!menus.above(title("Inviter"), title("Accès")));
        // A menu reached by keywords is above its pages too.
        assert!(menus.above(title("Isolé"), title("Détail")));
    }
}
