//! The menu structure of a knowledge base: which responses a response's choices offer, and
//! how many choices below the welcome each response is, so that a menu is told from the
//! pages it offers, and a page's choice back to its menu (`[Menu Pix Orga](Menu Pix Orga)`)
//! does not make the page a menu of its menu.

use crate::kb::{KnowledgeBase, Target};

/// Which response's choices lead to which, and how deep each response is.
#[derive(Debug, Default)]
pub struct Menus {
    /// For each response, the responses its choices lead to.
    children: Vec<Vec<usize>>,
    /// Choices from the welcome's (0), or from a response no choice leads to (0 too): a
    /// base may be a set of menus reached by keywords. `u32::MAX` for what no choice from
    /// those reaches (a cycle of pages nothing enters).
    depth: Vec<u32>,
}

impl Menus {
    pub fn for_kb(kb: &KnowledgeBase) -> Self {
        let index = kb.index_by_title();
        let targets = |choices: &[crate::kb::Choice]| -> Vec<usize> {
            choices
                .iter()
                .filter_map(|c| match &c.target {
                    Target::Response(title) => index.get(title.as_str()).copied(),
                    _ => None,
                })
                .collect()
        };
        let children: Vec<Vec<usize>> = kb
            .responses
            .iter()
            .map(|r| targets(&r.message.choices))
            .collect();
        let mut entered = vec![false; kb.responses.len()];
        for &to in children.iter().flatten() {
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
                    next.extend(children[i].iter().copied());
                }
            }
            level = next;
            at += 1;
        }
        Self { children, depth }
    }

    /// Whether response `menu` offers response `page`: a choice of it leads there, and it
    /// is nearer the welcome (a page's choice back to its menu does not make it a menu).
    pub fn offers(&self, menu: usize, page: usize) -> bool {
        let above = match (self.depth.get(menu), self.depth.get(page)) {
            (Some(menu), Some(page)) => menu < page,
            _ => false,
        };
        above && self.children[menu].contains(&page)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)] // tests fail loudly by design
mod tests {
    use super::*;

    #[test]
    fn a_back_link_does_not_make_a_page_the_menu_of_its_menu() {
        let base = "# Bot\nBienvenue.\n1. [Orga](Menu orga)\n\
            ## Menu orga\n1. [Inviter](Inviter)\n2. [Accès](Accès)\n\
            ## Inviter\nTexte\n1. [Menu orga](Menu orga)\n\
            ## Accès\nTexte\n1. [Menu orga](Menu orga)\n\
            ## Isolé\n- mot\n1. [Détail](Détail)\n## Détail\nTexte\n";
        let kb = crate::kb::parse_str("base.md", base).kb.expect("parses");
        let menus = Menus::for_kb(&kb);
        let title = |t: &str| kb.response_index(t).expect("title");
        assert!(menus.offers(title("Menu orga"), title("Inviter")));
        assert!(!menus.offers(title("Inviter"), title("Menu orga")));
        assert!(!menus.offers(title("Inviter"), title("Accès")));
        // A menu reached by keywords offers its pages too.
        assert!(menus.offers(title("Isolé"), title("Détail")));
    }
}
