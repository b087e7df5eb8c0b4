//! jitsudo-policy(5) from docs/policy.md: a converter for the Markdown that
//! file uses (headings, paragraphs, `*` lists, fenced code, tables, `code`
//! and **bold**) to man(7) roff.

use super::man::escape;

/// The policy documentation, as checked in.
const POLICY_MD: &str = include_str!("../../../../docs/policy.md");

/// Level-2 headings renamed to the section names man pages use.
const SECTION_NAMES: [(&str, &str); 1] = [("A complete example", "EXAMPLES")];

/// The jitsudo-policy(5) page.
pub fn policy_page() -> String {
    let mut out = String::from(concat!(
        ".TH JITSUDO-POLICY 5 \"\" \"jitsudo\" \"File Formats\"\n",
        ".SH NAME\n",
        "jitsudo-policy \\- who may run which command as whom, for jitsudod\n",
        ".SH SYNOPSIS\n",
        ".I /etc/jitsudo/policy.toml\n",
        ".br\n",
        ".I /etc/jitsudo/policy.d/*.toml\n",
        ".SH DESCRIPTION\n",
    ));
    let body = POLICY_MD.split_once('\n').map_or("", |(_, rest)| rest);
    out += &convert(body);
    out += ".SH \"SEE ALSO\"\njitsudo(8), jitsudoctl(8), jitsudod(8), sudoers(5)\n";
    out
}

/// Converts Markdown blocks to roff.
fn convert(markdown: &str) -> String {
    let mut out = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(code) = line.strip_prefix("```") {
            let _language = code;
            out += ".PP\n.nf\n.RS 4\n";
            for code_line in lines.by_ref().take_while(|l| !l.starts_with("```")) {
                out += &format!("{}\n", escape_code(code_line));
            }
            out += ".RE\n.fi\n";
        } else if let Some(heading) = heading(line) {
            out += &heading;
        } else if line.starts_with('|') {
            let mut rows = vec![line];
            while let Some(row) = lines.next_if(|l| l.starts_with('|')) {
                rows.push(row);
            }
            out += &table(&rows);
        } else {
            let mut block = vec![line];
            while let Some(next) = lines.next_if(|l| continues_paragraph(l)) {
                block.push(next);
            }
            out += &paragraph(&block);
        }
    }
    out
}

/// Whether a line continues the paragraph or list item above it.
fn continues_paragraph(line: &str) -> bool {
    !line.trim().is_empty()
        && !line.starts_with("* ")
        && !line.starts_with('#')
        && !line.starts_with("```")
        && !line.starts_with('|')
}

/// `## Title` -> `.SH`, `###`/`####` -> `.SS`.
fn heading(line: &str) -> Option<String> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let title = line.get(level..)?.strip_prefix(' ')?.replace('`', "");
    let title = SECTION_NAMES
        .iter()
        .find(|(from, _)| *from == title)
        .map_or(title.clone(), |(_, to)| (*to).to_owned());
    match level {
        2 => Some(format!(".SH \"{}\"\n", escape(&title.to_uppercase()))),
        3 | 4 => Some(format!(".SS \"{}\"\n", escape(&title))),
        _ => None,
    }
}

/// A paragraph, or a `* ` list item.
fn paragraph(lines: &[&str]) -> String {
    let text = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
    match text.strip_prefix("* ") {
        Some(item) => format!(".IP \\(bu 2\n{}\n", inline(item)),
        None => format!(".PP\n{}\n", inline(&text)),
    }
}

/// A table: each row a tagged paragraph, its first cell the tag; the
/// middle cells prefixed with their column name, the last as it is.
fn table(rows: &[&str]) -> String {
    let cells = |row: &str| -> Vec<String> {
        let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
        split_cells(inner)
    };
    let header = rows.first().map(|row| cells(row)).unwrap_or_default();
    let mut out = String::new();
    for row in rows.iter().skip(2) {
        let row = cells(row);
        let Some((tag, rest)) = row.split_first() else {
            continue;
        };
        let mut body = Vec::new();
        for (i, cell) in rest.iter().enumerate() {
            let last = i + 2 == row.len();
            let name = header.get(i + 1).map_or("", String::as_str);
            body.push(if last {
                inline(cell)
            } else {
                format!("{}: {}.", escape(name), inline(cell))
            });
        }
        out += &format!(".TP\n{}\n{}\n", inline(tag), body.join(" "));
    }
    out
}

/// Splits a table row at `|` outside backticks.
fn split_cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut in_code = false;
    for c in row.chars() {
        match c {
            '`' => in_code = !in_code,
            '|' if !in_code => {
                cells.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(cell) = cells.last_mut() {
            cell.push(c);
        }
    }
    cells.iter().map(|cell| cell.trim().to_owned()).collect()
}

/// Inline markup: `code` and **bold** become bold; the rest is escaped.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out += &format!("\\fB{}\\fR", escape_code(part));
            continue;
        }
        for (j, piece) in part.split("**").enumerate() {
            let piece = escape(piece).trim_start_matches("\\&").to_owned();
            out += &if j % 2 == 1 {
                format!("\\fB{piece}\\fR")
            } else {
                piece
            };
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// Escapes a line of code (kept verbatim, even at a line start).
fn escape_code(line: &str) -> String {
    let escaped = escape(line);
    if escaped.starts_with("\\&") {
        escaped
    } else {
        format!("\\&{escaped}")
    }
}

#[cfg(test)]
mod tests {
    use super::policy_page;

    /// man/jitsudo-policy.5 is what docs/policy.md converts to: regenerate
    /// it with `jitsudoctl generate-docs DIR` and copy DIR/man/jitsudo-policy.5.
    #[test]
    fn checked_in_policy_page_matches_docs_policy_md() {
        let checked_in = include_str!("../../../../man/jitsudo-policy.5");
        assert!(
            checked_in == policy_page(),
            "man/jitsudo-policy.5 is out of date with docs/policy.md: run \
             `cargo run -p jitsudoctl -- generate-docs target/docs && \
             cp target/docs/man/jitsudo-policy.5 man/`"
        );
    }
}
