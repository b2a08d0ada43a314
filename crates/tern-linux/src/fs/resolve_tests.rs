//! The resolver's tests: hand-made trees for the rules (links, `..`, binds, loops),
//! and property tests over random hostile trees (whatever a walk reaches is inside
//! the root or the bind; without a bind it is what the kernel's
//! `openat2(RESOLVE_IN_ROOT)` reaches).

use std::os::fd::{AsRawFd, OwnedFd};

use proptest::prelude::*;

use super::*;
use crate::fs::resolve_check::{build, Entry, Node, Scenario};

fn entry(path: &str, node: Node) -> Entry {
    Entry {
        path: path.into(),
        node,
    }
}

fn link(path: &str, target: &str) -> Entry {
    entry(path, Node::Link(target.as_bytes().to_vec()))
}

/// The guest path a walk reaches, or its error.
fn reach(s: &Scenario, path: &str, lookup: Lookup) -> Result<String, Errno> {
    let b = build(s).expect("build the tree");
    let w = walk(b.tree(), None, path.as_bytes(), lookup)?;
    if lookup == Lookup::Follow && w.object.is_none() {
        return Err(Errno::ENOENT);
    }
    Ok(String::from_utf8(w.guest).expect("utf-8"))
}

fn scenario(entries: Vec<Entry>, bind: bool) -> Scenario {
    Scenario {
        entries,
        bind,
        start: b"/".to_vec(),
        paths: Vec::new(),
    }
}

#[test]
fn links_and_dotdot_stay_in_the_root() {
    let s = scenario(
        vec![
            entry("root/etc", Node::Dir),
            entry("root/etc/passwd", Node::File),
            link("root/up", "/"),
            link("root/etc/rel", "../../../.."),
            link("root/host", "@"),
        ],
        false,
    );
    assert_eq!(reach(&s, "/up/etc", Lookup::Follow), Ok("/etc".into()));
    assert_eq!(
        reach(&s, "/etc/rel/etc/passwd", Lookup::Follow),
        Ok("/etc/passwd".into())
    );
    assert_eq!(
        reach(&s, "/../../etc/../..", Lookup::Follow),
        Ok("/".into())
    );
    assert_eq!(
        reach(&s, "/up/../etc/rel/..", Lookup::Follow),
        Ok("/".into())
    );
    // A link to the host path of the secret is read inside the root: not there.
    assert_eq!(reach(&s, "/host/file", Lookup::Follow), Err(Errno::ENOENT));
    assert_eq!(reach(&s, "/host", Lookup::NoFollow), Ok("/host".into()));
    assert_eq!(
        reach(&s, "/etc/passwd/x", Lookup::Follow),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        reach(&s, "/etc/passwd/", Lookup::NoFollow),
        Err(Errno::ENOTDIR)
    );
}

#[test]
fn a_last_link_to_the_root_reaches_the_root() {
    // Found by the path_resolve fuzz target: a link whose text is only slashes.
    let s = scenario(vec![link("root/a", "//"), link("root/b", "/")], false);
    assert_eq!(reach(&s, "/a", Lookup::Follow), Ok("/".into()));
    assert_eq!(reach(&s, "/b", Lookup::Follow), Ok("/".into()));
    assert_eq!(reach(&s, "/b/", Lookup::NoFollow), Ok("/".into()));
    assert_eq!(reach(&s, "/b", Lookup::NoFollow), Ok("/b".into()));
}

#[test]
fn loops_end_in_eloop() {
    let s = scenario(
        vec![
            link("root/x", "y"),
            link("root/y", "x"),
            link("root/self", "self/a"),
        ],
        false,
    );
    assert_eq!(reach(&s, "/x", Lookup::Follow), Err(Errno::ELOOP));
    assert_eq!(reach(&s, "/self", Lookup::Follow), Err(Errno::ELOOP));
    // Not following the last link: no loop.
    assert_eq!(reach(&s, "/x", Lookup::NoFollow), Ok("/x".into()));
}

#[test]
fn a_bind_is_entered_by_its_guest_path_and_left_to_its_guest_parent() {
    let s = scenario(
        vec![
            entry("root/file", Node::File),
            entry("bind/d", Node::Dir),
            link("bind/up", ".."),
            link("bind/d/upup", "../.."),
            link("root/tob", "/b/d"),
        ],
        true,
    );
    assert_eq!(reach(&s, "/b/d", Lookup::Follow), Ok("/b/d".into()));
    // ".." from the bind's top is the guest's "/", never the bind's host parent.
    assert_eq!(reach(&s, "/b/up/file", Lookup::Follow), Ok("/file".into()));
    assert_eq!(
        reach(&s, "/b/d/upup/file", Lookup::Follow),
        Ok("/file".into())
    );
    assert_eq!(
        reach(&s, "/b/up/secret", Lookup::Follow),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        reach(&s, "/tob/../../file", Lookup::Follow),
        Ok("/file".into())
    );
    assert_eq!(reach(&s, "/b", Lookup::Parent).map(|_| ()), Ok(()));
}

#[test]
fn deep_paths_keep_few_descriptors_and_come_back_by_name() {
    // 30 levels down and all the way back up with "..": more levels than HELD, so
    // the walk reopens dropped directories by name.
    let mut entries = Vec::new();
    let mut p = String::from("root");
    for _ in 0..30 {
        p.push_str("/d");
        entries.push(entry(&p, Node::Dir));
    }
    entries.push(entry("root/top", Node::File));
    let s = scenario(entries, false);
    let down = "/d".repeat(30);
    let up = "/..".repeat(30);
    assert_eq!(
        reach(&s, &format!("{down}{up}/top"), Lookup::Follow),
        Ok("/top".into())
    );
    let half = "/..".repeat(10);
    assert_eq!(
        reach(&s, &format!("{down}{half}"), Lookup::Follow),
        Ok("/d".repeat(20))
    );
}

#[test]
fn relative_paths_start_at_the_start_descriptor() {
    let s = scenario(
        vec![
            entry("root/a", Node::Dir),
            entry("root/a/f", Node::File),
            entry("root/g", Node::File),
        ],
        false,
    );
    let b = build(&s).expect("build");
    let dir = b.secret().parent().expect("dir").to_path_buf();
    let root: OwnedFd = std::fs::File::open(dir.join("root")).expect("root").into();
    let a: OwnedFd = std::fs::File::open(dir.join("root/a")).expect("a").into();
    let tree = Tree {
        root: root.as_fd(),
        binds: &[],
        min_fd: 64,
    };
    let start = Start {
        fd: a,
        guest: b"/a".to_vec(),
        is_dir: true,
    };
    let w = walk(tree, Some(start), b"f", Lookup::Follow).expect("walk");
    assert_eq!(w.guest, b"/a/f");
    assert!(w.object.is_some());
    let start = Start {
        fd: std::fs::File::open(dir.join("root/a")).expect("a").into(),
        guest: b"/a".to_vec(),
        is_dir: true,
    };
    let w = walk(tree, Some(start), b"../../g", Lookup::Follow).expect("walk");
    assert_eq!(w.guest, b"/g");
    // A file as the start of a relative path: ENOTDIR, as Linux.
    let start = Start {
        fd: std::fs::File::open(dir.join("root/g")).expect("g").into(),
        guest: b"/g".to_vec(),
        is_dir: false,
    };
    assert_eq!(
        walk(tree, Some(start), b"x", Lookup::Follow).map(|_| ()),
        Err(Errno::ENOTDIR)
    );
}

#[test]
fn descriptors_of_a_walk_are_above_the_guest_limit() {
    let s = scenario(
        vec![entry("root/a", Node::Dir), entry("root/a/f", Node::File)],
        false,
    );
    let b = build(&s).expect("build");
    let dir = b.secret().parent().expect("dir").to_path_buf();
    let root: OwnedFd = std::fs::File::open(dir.join("root")).expect("root").into();
    let tree = Tree {
        root: root.as_fd(),
        binds: &[],
        min_fd: 500,
    };
    let w = walk(tree, None, b"/a/f", Lookup::Follow).expect("walk");
    assert!(w.object.as_ref().is_some_and(|o| o.as_raw_fd() >= 500));
    assert!(w.entry.as_ref().is_some_and(|(d, _)| d.as_raw_fd() >= 500));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever random tree and path: the walk stays inside, and without a bind it
    /// agrees with the kernel's own confined lookup.
    #[test]
    fn walks_never_leave_the_root_or_the_bind(data in proptest::collection::vec(any::<u8>(), 0..160)) {
        let s = Scenario::from_bytes(&data);
        let b = build(&s).expect("build the tree");
        for p in &s.paths {
            for lookup in [Lookup::Follow, Lookup::NoFollow, Lookup::Parent] {
                prop_assert_eq!(b.check(&s.start, p, lookup), Ok(()));
                let abs = [b"/".as_slice(), p].concat();
                prop_assert_eq!(b.compare_with_kernel(&abs, lookup), Ok(()));
            }
        }
    }
}
