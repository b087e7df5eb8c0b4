//! A request or grant as `GetRequest` returns it (`a{sv}`, the fields of
//! docs/grants.md), and how the agent words it.

use std::collections::HashMap;

use zbus::zvariant::OwnedValue;

/// One record.
pub struct Record(pub HashMap<String, OwnedValue>);

impl Record {
    /// A text field.
    pub fn text(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .and_then(|v| <&str>::try_from(v).ok())
            .map(str::to_owned)
    }

    /// A number field.
    pub fn number(&self, key: &str) -> Option<i64> {
        self.0.get(key).and_then(|v| i64::try_from(v).ok())
    }

    /// The command of a command grant.
    pub fn command(&self) -> Option<Vec<String>> {
        let value = self.0.get("command")?.try_clone().ok()?;
        Vec::<String>::try_from(value).ok()
    }

    /// Who asked.
    pub fn requester(&self) -> String {
        self.text("requester").unwrap_or_default()
    }

    /// The notification body for a reviewer: what, as whom, how long, why,
    /// the ticket — requester-chosen text with markup escaped.
    pub fn describe(&self) -> String {
        let what = match self.command() {
            Some(words) => format!(
                "run {} as {}",
                words.join(" "),
                self.text("run_as").unwrap_or_else(|| "root".into())
            ),
            None => format!("use rule {}", self.text("rule").unwrap_or_default()),
        };
        let mut lines = vec![format!(
            "{} asks to {what} for {}s",
            self.requester(),
            self.number("duration").unwrap_or(0)
        )];
        if let Some(reason) = self.text("reason") {
            lines.push(format!("Reason: {reason}"));
        }
        if let Some(ticket) = self.text("ticket") {
            lines.push(format!("Ticket: {ticket}"));
        }
        escape(&lines.join("\n"))
    }
}

/// Escapes the characters notification servers read as markup.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">approve</a> & go"),
            "&lt;a href=\"x\"&gt;approve&lt;/a&gt; &amp; go"
        );
    }
}
