//! How `jitsudoctl replay` shows a `-e` edit: the file, the SHA-256 of its
//! content before and after, and a unified diff of the lines that changed
//! (one hunk, from the first changed line to the last, with context).

use jitsudo_audit::recording::FileEdit;

/// Lines of context around the changed lines.
const CONTEXT: usize = 3;

/// What `edit` did, as text for a terminal (the file's bytes as they are).
pub(super) fn describe(edit: &FileEdit) -> Vec<u8> {
    let path = String::from_utf8_lossy(&edit.path);
    let hash = |h: &Option<String>| h.clone().unwrap_or_else(|| "none".into());
    let mut out = match (&edit.before_sha256, edit.changed()) {
        (_, false) => format!(
            "edit of {path}: not changed (sha256 {})\n",
            hash(&edit.before_sha256)
        ),
        (None, true) => format!(
            "edit of {path}: created (sha256 {})\n",
            hash(&edit.after_sha256)
        ),
        (Some(before), true) => format!(
            "edit of {path}: changed (sha256 {before} -> {})\n",
            hash(&edit.after_sha256)
        ),
    }
    .into_bytes();
    if !edit.changed() {
        return out;
    }
    let before = edit
        .before
        .as_deref()
        .or(edit.before_sha256.is_none().then_some(&[][..]));
    match (before, edit.after.as_deref()) {
        (Some(before), Some(after)) => out.extend(diff(&path, before, after)),
        _ => out.extend_from_slice(
            b"(the contents were not recorded: the recording reached its size cap)\n",
        ),
    }
    out
}

/// A unified diff of `before` and `after`: one hunk spanning every
/// changed line.
fn diff(path: &str, before: &[u8], after: &[u8]) -> Vec<u8> {
    let a: Vec<&[u8]> = before.split_inclusive(|b| *b == b'\n').collect();
    let b: Vec<&[u8]> = after.split_inclusive(|b| *b == b'\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = (a[prefix..].iter().rev())
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(CONTEXT);
    let trailing = suffix.min(CONTEXT);
    let (a_end, b_end) = (a.len() - suffix, b.len() - suffix);
    let mut out = format!("--- {path}\n+++ {path}\n").into_bytes();
    out.extend(
        format!(
            "@@ -{} +{} @@\n",
            range(start, a_end + trailing - start),
            range(start, b_end + trailing - start)
        )
        .into_bytes(),
    );
    let lines = (a[start..prefix].iter().map(|l| (b' ', l)))
        .chain(a[prefix..a_end].iter().map(|l| (b'-', l)))
        .chain(b[prefix..b_end].iter().map(|l| (b'+', l)))
        .chain(a[a_end..a_end + trailing].iter().map(|l| (b' ', l)));
    for (mark, line) in lines {
        out.push(mark);
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    }
    out
}

/// A hunk range: first line (1-based; 0 for an empty range) and count.
fn range(start: usize, count: usize) -> String {
    let first = if count == 0 { start } else { start + 1 };
    format!("{first},{count}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_spans_the_changed_lines_with_context() {
        let before = b"1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let after = b"1\n2\n3\n4\nfive\n6\n7\n8\n9\nten";
        let text = String::from_utf8(diff("f", before, after)).unwrap();
        assert_eq!(
            text,
            "--- f\n+++ f\n@@ -2,8 +2,9 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n+ten\n\\ No newline at end of file\n"
        );
    }
}
