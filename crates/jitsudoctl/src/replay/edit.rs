//! How `jitsudoctl replay` shows a `-e` edit: the file, the SHA-256 of its
//! content before and after, and a unified diff of the lines that changed
//! (one hunk, from the first changed line to the last, with context; the
//! lines between as a longest common subsequence makes them, unless that
//! would take too much memory).

use jitsudo_audit::recording::FileEdit;

/// Lines of context around the changed lines.
const CONTEXT: usize = 3;

/// Most cells of the longest-common-subsequence table (4 bytes each).
const MAX_CELLS: usize = 4 << 20;

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
    let lines = (a[start..prefix].iter().map(|l| (b' ', *l)))
        .chain(changes(&a[prefix..a_end], &b[prefix..b_end]))
        .chain(a[a_end..a_end + trailing].iter().map(|l| (b' ', *l)));
    for (mark, line) in lines {
        out.push(mark);
        out.extend_from_slice(line);
        if !line.ends_with(b"\n") {
            out.extend_from_slice(b"\n\\ No newline at end of file\n");
        }
    }
    out
}

/// The lines of `a` and `b` marked kept (` `), removed (`-`) or added
/// (`+`), by a longest common subsequence (all of `a` removed and all of
/// `b` added, if its table would be too large).
fn changes<'a>(a: &[&'a [u8]], b: &[&'a [u8]]) -> Vec<(u8, &'a [u8])> {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        let removed = a.iter().map(|l| (b'-', *l));
        return removed.chain(b.iter().map(|l| (b'+', *l))).collect();
    }
    // common[i * w + j]: the longest common subsequence of a[i..], b[j..].
    let w = m + 1;
    let mut common = vec![0u32; (n + 1) * w];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i * w + j] = if a[i] == b[j] {
                common[(i + 1) * w + j + 1] + 1
            } else {
                common[(i + 1) * w + j].max(common[i * w + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((b' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || common[(i + 1) * w + j] >= common[i * w + j + 1]) {
            out.push((b'-', a[i]));
            i += 1;
        } else {
            out.push((b'+', b[j]));
            j += 1;
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
        let text = String::from_utf8(diff("f", b"a\nb\nc\n", b"b\nx\nc\nd\n")).unwrap();
        assert_eq!(text, "--- f\n+++ f\n@@ -1,3 +1,4 @@\n-a\n b\n+x\n c\n+d\n");
    }
}
