//! Include directives: what `read` is asked, relative paths, order,
//! loops, depth, failures, and the files sudo skips in a directory.

use std::collections::BTreeMap;

use super::{notes, policy_of};
use crate::{import, includedir_reads, Conversion, Include};
use jitsudo_policy::Source;

/// Converts `main` from a tree of files (`path → text`); a directory is
/// every file under `path/`, filtered by [`includedir_reads`] and sorted.
fn tree(main: &str, files: &[(&str, &str)]) -> (Conversion, Vec<Include>) {
    let files: BTreeMap<&str, &str> = files.iter().copied().collect();
    let mut asked = Vec::new();
    let mut read = |include: &Include| -> Result<Vec<Source>, String> {
        asked.push(include.clone());
        let source = |(name, text): (&&str, &&str)| Source {
            name: (*name).to_owned(),
            text: (*text).to_owned(),
        };
        if include.dir {
            let prefix = format!("{}/", include.path);
            return Ok(files
                .iter()
                .filter(|(name, _)| {
                    name.strip_prefix(&prefix)
                        .is_some_and(|base| !base.contains('/') && includedir_reads(base))
                })
                .map(source)
                .collect());
        }
        files
            .get_key_value(include.path.as_str())
            .map(|entry| vec![source(entry)])
            .ok_or_else(|| "No such file or directory".to_owned())
    };
    let main = Source {
        name: main.to_owned(),
        text: files[main].to_owned(),
    };
    let conversion = import(&main, &mut read);
    (conversion, asked)
}

#[test]
fn sudo_skips_backups_and_names_with_dots() {
    for name in ["ops", "90-cloud-init-users", "README", "a_b-c"] {
        assert!(includedir_reads(name), "{name}");
    }
    for name in ["", "ops~", "ops.dpkg-dist", ".hidden", "ops.bak", "x.conf"] {
        assert!(!includedir_reads(name), "{name}");
    }
}

#[test]
fn includes_are_converted_in_place_with_relative_paths_resolved() {
    let (conversion, asked) = tree(
        "/etc/sudoers",
        &[
            (
                "/etc/sudoers",
                "first ALL = /bin/a\n@include sudoers.local\n#includedir /etc/sudoers.d\nlast ALL = /bin/z\n",
            ),
            ("/etc/sudoers.local", "Cmnd_Alias LOCAL = /bin/l\nlocal ALL = LOCAL\n"),
            ("/etc/sudoers.d/b", "b ALL = /bin/b\n"),
            ("/etc/sudoers.d/a", "a ALL = LOCAL\n"),
            ("/etc/sudoers.d/a~", "backup ALL = ALL\n"),
            ("/etc/sudoers.d/c.dpkg-old", "old ALL = ALL\n"),
        ],
    );
    assert_eq!(
        asked,
        [
            Include {
                path: "/etc/sudoers.local".into(),
                dir: false,
                file: "/etc/sudoers".into(),
                line: 2,
            },
            Include {
                path: "/etc/sudoers.d".into(),
                dir: true,
                file: "/etc/sudoers".into(),
                line: 3,
            },
        ]
    );
    assert_eq!(
        conversion.files,
        [
            "/etc/sudoers",
            "/etc/sudoers.local",
            "/etc/sudoers.d/a",
            "/etc/sudoers.d/b"
        ]
    );
    assert!(
        conversion.unconverted.is_empty(),
        "{:?}",
        notes(&conversion)
    );
    let ids: Vec<String> = policy_of(&conversion)
        .rules
        .into_iter()
        .map(|rule| rule.id)
        .collect();
    assert_eq!(
        ids,
        [
            "sudoers-L1",
            "sudoers-local-L2",
            "a-L1",
            "b-L1",
            "sudoers-L4"
        ]
    );
    assert!(conversion
        .toml
        .contains("# /etc/sudoers:3: #includedir /etc/sudoers.d\n#   (reads /etc/sudoers.d/a, /etc/sudoers.d/b)\n"));
}

#[test]
fn unreadable_includes_loops_and_depth_are_reported() {
    let (conversion, _) = tree(
        "/etc/sudoers",
        &[
            (
                "/etc/sudoers",
                "@include /etc/missing\n@include /etc/loop\n@include /etc/deep/0\n",
            ),
            ("/etc/loop", "loop ALL = /bin/l\n@include /etc/sudoers\n"),
        ],
    );
    assert_eq!(
        notes(&conversion),
        [
            "/etc/sudoers:1: NOT CONVERTED: @include /etc/missing: could not be read: No such file or directory",
            "/etc/loop:2: NOT CONVERTED: @include /etc/sudoers: /etc/sudoers is not converted again: the file is already being read (an include loop)",
            "/etc/sudoers:3: NOT CONVERTED: @include /etc/deep/0: could not be read: No such file or directory",
        ]
    );
    assert_eq!(policy_of(&conversion).rules.len(), 1);

    let chain: Vec<(String, String)> = (0..130)
        .map(|n| {
            (
                format!("/etc/deep/{n}"),
                format!("u{n} ALL = /bin/x\n@include /etc/deep/{}\n", n + 1),
            )
        })
        .collect();
    let mut files: Vec<(&str, &str)> = chain
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    files.push(("/etc/deep/130", "end ALL = /bin/x\n"));
    let (conversion, _) = tree("/etc/deep/0", &files);
    assert_eq!(
        notes(&conversion),
        ["/etc/deep/127:2: NOT CONVERTED: @include /etc/deep/128: /etc/deep/128 is not converted again: includes nest deeper than 128 levels"]
    );
    assert_eq!(policy_of(&conversion).rules.len(), 128);
}

#[test]
fn files_of_the_same_name_get_distinct_rule_ids() {
    let (conversion, _) = tree(
        "/etc/sudoers",
        &[
            ("/etc/sudoers", "@include /a/ops\n@include /b/ops\n"),
            ("/a/ops", "x ALL = /bin/x\n"),
            ("/b/ops", "y ALL = /bin/y\n"),
        ],
    );
    let ids: Vec<String> = policy_of(&conversion)
        .rules
        .into_iter()
        .map(|rule| rule.id)
        .collect();
    assert_eq!(ids, ["ops-L1", "ops-L1-2"]);
}

#[test]
fn an_empty_or_missing_directory_reads_nothing() {
    let (conversion, asked) = tree(
        "/etc/sudoers",
        &[("/etc/sudoers", "@includedir /etc/sudoers.d\n")],
    );
    assert_eq!(asked.len(), 1);
    assert!(conversion.unconverted.is_empty());
    assert!(conversion.toml.contains("#   (reads no file)\n"));
    policy_of(&conversion);
}
