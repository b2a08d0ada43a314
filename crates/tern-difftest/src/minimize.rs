//! Shrinking a diverging program to few instructions.
//!
//! Items are valid in any state (see gen), so any sub-list of a body is again a valid
//! program: the minimizer removes chunks of items (halving the chunk size down to one
//! item, like delta debugging), replaces jumps by the blocks they skip, and recurses
//! into those blocks, keeping every change after which the program still diverges.

use crate::gen::{Item, Program};

/// Shrinks `p` while `diverges` holds, calling it at most `budget` times.
pub fn minimize(p: &Program, budget: usize, diverges: &mut dyn FnMut(&Program) -> bool) -> Program {
    let mut calls = 0;
    let mut body = p.body.clone();
    let mut check = |items: &[Item]| {
        if calls >= budget {
            return false;
        }
        calls += 1;
        let mut cand = p.clone();
        cand.body = items.to_vec();
        diverges(&cand)
    };
    loop {
        let before = body.clone();
        shrink_list(&mut body, &mut check);
        if body == before {
            break;
        }
    }
    let mut out = p.clone();
    out.body = body;
    out
}

fn shrink_list(items: &mut Vec<Item>, check: &mut dyn FnMut(&[Item]) -> bool) {
    let mut chunk = items.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < items.len() {
            let mut cand = items.clone();
            let end = (i + chunk).min(cand.len());
            cand.drain(i..end);
            if check(&cand) {
                *items = cand;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    let mut i = 0;
    while i < items.len() {
        if let Item::Skip { head, body } = items[i].clone() {
            let mut spliced = items.clone();
            spliced.splice(i..=i, body.iter().cloned());
            if check(&spliced) {
                *items = spliced;
                continue;
            }
            let mut new_body = body.clone();
            let outer = items.clone();
            let mut inner = |b: &[Item]| {
                let mut c = outer.clone();
                c[i] = Item::Skip {
                    head: head.clone(),
                    body: b.to_vec(),
                };
                check(&c)
            };
            shrink_list(&mut new_body, &mut inner);
            items[i] = Item::Skip {
                head,
                body: new_body,
            };
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gen::{generate, GenConfig};

    fn contains(items: &[Item], needle: &str) -> bool {
        items.iter().any(|it| match it {
            Item::Seq(lines) => lines.iter().any(|l| l.contains(needle)),
            Item::Skip { head, body } => {
                head.iter().any(|l| l.contains(needle)) || contains(body, needle)
            }
        })
    }

    #[test]
    fn shrinks_to_the_culprit() {
        let cfg = GenConfig::default();
        let p = (0..)
            .map(|i| generate(1, i, &cfg))
            .find(|p| p.len() > 100 && contains(&p.body, "fdiv"))
            .unwrap();
        let m = minimize(&p, 10_000, &mut |c| contains(&c.body, "fdiv"));
        assert_eq!(m.len(), 1, "{:?}", m.body);
    }
}
