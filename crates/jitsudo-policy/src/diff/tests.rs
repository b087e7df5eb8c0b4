use super::*;
use crate::test_support::policy;

fn summary(changes: &[Change]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

const BASE: &str = r#"
[[rule]]
id = "ops"
who = ["%ops"]
run_as = ["root", "www-data"]
commands = ["/usr/bin/systemctl restart nginx", "/usr/bin/id"]
"#;

#[test]
fn identical_policies_have_no_changes() {
    assert!(entitlement_diff(&policy(BASE), &policy(BASE)).is_empty());
    // Spacing and rule ids do not matter: the same triples are granted.
    let respaced = BASE
        .replace("restart nginx", "restart   nginx")
        .replace("\"ops\"\nwho", "\"operators\"\nwho");
    assert!(entitlement_diff(&policy(BASE), &policy(&respaced)).is_empty());
}

#[test]
fn gains_and_losses_are_per_triple() {
    let new = BASE.replace("\"root\", \"www-data\"", "\"root\"").replace(
        "\"/usr/bin/id\"",
        "\"/usr/bin/id\", \"/usr/bin/journalctl -u *\"",
    );
    let changes = entitlement_diff(&policy(BASE), &policy(&new));
    assert_eq!(
        summary(&changes),
        [
            "+ %ops may run `/usr/bin/journalctl -u *` as root (auth password; rule ops)",
            "- %ops may run `/usr/bin/id` as www-data (auth password; rule ops)",
            "- %ops may run `/usr/bin/systemctl restart nginx` as www-data (auth password; rule ops)",
        ]
    );
    assert_eq!(changes[0].kind, ChangeKind::Gained);
    assert_eq!(changes[1].kind, ChangeKind::Lost);
}

#[test]
fn auth_and_when_changes_are_noted() {
    let new = format!("{BASE}auth = \"none\"\nwhen = {{ tty = true }}\n");
    let changes = entitlement_diff(&policy(BASE), &policy(&new));
    assert_eq!(changes.len(), 4);
    assert!(changes.iter().all(|c| c.kind == ChangeKind::Changed));
    assert_eq!(
        changes[0].to_string(),
        "~ %ops may run `/usr/bin/id` as root (auth password; rule ops -> auth none, when tty; rule ops)"
    );
}

#[test]
fn the_last_allow_gives_the_auth() {
    let new = format!(
        "{BASE}[[rule]]\nid = \"nopw\"\nwho = [\"%ops\"]\ncommands = [\"/usr/bin/id\"]\nauth = \"none\"\n"
    );
    let changes = entitlement_diff(&policy(BASE), &policy(&new));
    assert_eq!(
        summary(&changes),
        ["~ %ops may run `/usr/bin/id` as root (auth password; rule ops -> auth none; rule nopw)"]
    );
}

#[test]
fn denies_remove_what_they_cover_whole() {
    let deny = |keys: &str| format!("{BASE}[[rule]]\nid = \"no\"\neffect = \"deny\"\n{keys}\n");
    let lost = |keys: &str| {
        entitlement_diff(&policy(BASE), &policy(&deny(keys)))
            .iter()
            .filter(|c| c.kind == ChangeKind::Lost)
            .map(|c| format!("{} {}", c.run_as, c.command))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        lost("who = [\"%ops\"]\nrun_as = [\"ALL\"]\ncommands = [\"/usr/bin/id\"]"),
        ["root /usr/bin/id", "www-data /usr/bin/id"]
    );
    assert_eq!(
        lost("who = [\"ALL\"]\ncommands = [\"ALL\"]"),
        ["root /usr/bin/id", "root /usr/bin/systemctl restart nginx"]
    );
    assert_eq!(
        lost("who = [\"ALL\"]\nrun_as = [\"www-data\"]\ncommands = [\"/usr/bin/*\"]"),
        [
            "www-data /usr/bin/id",
            "www-data /usr/bin/systemctl restart nginx"
        ]
    );
    // Another subject: nothing is known to be lost.
    assert!(lost("who = [\"alice\"]\ncommands = [\"ALL\"]").is_empty());
}

#[test]
fn partial_denies_limit_instead() {
    let new = format!(
        "{BASE}[[rule]]\nid = \"no-stop\"\neffect = \"deny\"\nwho = [\"%ops\"]\ncommands = [\"/usr/bin/id -u\"]\n\
         [[rule]]\nid = \"not-at-night\"\neffect = \"deny\"\nwho = [\"%ops\"]\ncommands = [\"/usr/bin/systemctl\"]\n\
         when = {{ hours = \"00:00-06:00\" }}\n"
    );
    let changes = entitlement_diff(&policy(BASE), &policy(&new));
    let limits: Vec<_> = changes
        .iter()
        .filter(|c| c.run_as == "root")
        .map(|c| {
            (
                c.kind,
                c.command.as_str(),
                c.new.as_ref().map(|e| e.limited_by.clone()),
            )
        })
        .collect();
    assert_eq!(
        limits,
        [
            (
                ChangeKind::Changed,
                "/usr/bin/id",
                Some(vec!["no-stop".to_owned()])
            ),
            (
                ChangeKind::Changed,
                "/usr/bin/systemctl restart nginx",
                Some(vec!["not-at-night".to_owned()])
            ),
        ]
    );
}

#[test]
fn groups_and_sets_are_listed_as_triples() {
    let old = policy("");
    let new = policy(
        "[command_sets]\nweb = [\"/usr/bin/nginx -t\", { path = \"/usr/bin/x\", args = [\"a b\", \"\"] }]\n\
         [[rule]]\nid = \"r\"\nwho = [\"#1001\"]\nrun_as = []\nrun_as_groups = [\"adm\"]\ncommands = [\"@web\", \"/bin/true \\\"\\\"\"]\n",
    );
    let changes = entitlement_diff(&old, &new);
    let triples: Vec<_> = changes
        .iter()
        .map(|c| format!("{} {} {}", c.who, c.run_as, c.command))
        .collect();
    assert_eq!(
        triples,
        [
            "#1001 :adm /bin/true \"\"",
            "#1001 :adm /usr/bin/nginx -t",
            "#1001 :adm /usr/bin/x \"a b\" \"\"",
        ]
    );
    let json = serde_json::to_value(&changes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json[0]["kind"], "gained");
    assert_eq!(json[0]["old"], serde_json::Value::Null);
    assert_eq!(json[0]["new"]["auth"], "password");
    assert_eq!(json[0]["new"]["rule_id"], "r");
}

#[test]
fn digests_are_part_of_the_command() {
    let hex = "ab".repeat(32);
    let old = policy(&format!(
        "[[rule]]\nid = \"r\"\nwho = [\"a\"]\ncommands = [\"sha256:{hex} /usr/bin/x\"]\n"
    ));
    let new = policy("[[rule]]\nid = \"r\"\nwho = [\"a\"]\ncommands = [\"/usr/bin/x\"]\n");
    let kinds: Vec<_> = entitlement_diff(&old, &new)
        .iter()
        .map(|c| (c.kind, c.command.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Gained, "/usr/bin/x".to_owned()),
            (ChangeKind::Lost, format!("sha256:{hex} /usr/bin/x")),
        ]
    );
}
