//! The binding against the real libpam: each test installs a throwaway
//! service `/etc/pam.d/jitsudo-unittest-<name>-<pid>` (PAM reads services
//! from there only; the tests run as root, as the whole suite does) built
//! from pam_permit, pam_deny, pam_echo and pam_exec.

use std::cell::RefCell;
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::rc::Rc;

use zeroize::Zeroizing;

use super::*;

/// A PAM service file that is removed again on drop.
struct Service {
    name: CString,
    path: PathBuf,
    script: Option<PathBuf>,
}

impl Service {
    fn install(name: &str, config: &str) -> Service {
        let name = format!("jitsudo-unittest-{name}-{}", std::process::id());
        let path = PathBuf::from("/etc/pam.d").join(&name);
        std::fs::write(&path, config).expect("install a PAM service (run the tests as root)");
        Service {
            name: CString::new(name).unwrap(),
            path,
            script: None,
        }
    }

    /// A service whose `auth` asks for a password (through the
    /// conversation, via pam_exec's `expose_authtok`) and accepts "right".
    fn asking_for_password(name: &str) -> Service {
        let script =
            std::env::temp_dir().join(format!("jitsudo-unittest-{name}-{}.sh", std::process::id()));
        std::fs::write(&script, "#!/bin/sh\n[ \"$(tr -d '\\000')\" = right ]\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let config = format!(
            "auth required pam_exec.so expose_authtok quiet {}\n",
            script.display()
        );
        let mut service = Service::install(name, &config);
        service.script = Some(script);
        service
    }

    fn start(&self, conversation: Box<dyn Conversation>) -> Pam {
        Pam::start(&self.name, Some(c"root"), conversation).expect("pam_start")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(script) = &self.script {
            let _ = std::fs::remove_file(script);
        }
    }
}

/// What a conversation saw.
#[derive(Default)]
struct Seen {
    prompts: Vec<(Vec<u8>, bool)>,
    messages: Vec<(Vec<u8>, bool)>,
}

/// Answers every prompt with `answer` (or not at all), records everything.
struct Scripted {
    answer: Option<&'static [u8]>,
    seen: Rc<RefCell<Seen>>,
}

impl Scripted {
    fn new(answer: Option<&'static [u8]>) -> (Box<Scripted>, Rc<RefCell<Seen>>) {
        let seen = Rc::new(RefCell::new(Seen::default()));
        let conversation = Box::new(Scripted {
            answer,
            seen: Rc::clone(&seen),
        });
        (conversation, seen)
    }
}

impl Conversation for Scripted {
    fn prompt(&mut self, text: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        self.seen.borrow_mut().prompts.push((text.to_vec(), echo));
        self.answer.map(|a| Zeroizing::new(a.to_vec()))
    }

    fn message(&mut self, text: &[u8], is_error: bool) {
        self.seen
            .borrow_mut()
            .messages
            .push((text.to_vec(), is_error));
    }
}

/// Panics wherever PAM calls it.
struct Panicking;

impl Conversation for Panicking {
    fn prompt(&mut self, _: &[u8], _: bool) -> Option<Zeroizing<Vec<u8>>> {
        panic!("conversation panicked on purpose");
    }

    fn message(&mut self, _: &[u8], _: bool) {
        panic!("conversation panicked on purpose");
    }
}

const PERMIT_ALL: &str = "auth required pam_permit.so\naccount required pam_permit.so\n\
    session required pam_permit.so\n";

#[test]
fn a_permitting_service_runs_the_whole_transaction() {
    let service = Service::install("permit", PERMIT_ALL);
    let (conversation, seen) = Scripted::new(None);
    let mut pam = service.start(conversation);
    pam.set_item(Item::Ruser, c"root").unwrap();
    pam.set_item(Item::Tty, c"/dev/pts/0").unwrap();
    pam.authenticate().unwrap();
    pam.acct_mgmt().unwrap();
    pam.set_item(Item::User, c"root").unwrap();
    pam.setcred(Credentials::Establish).unwrap();
    pam.open_session().unwrap();
    pam.close_session().unwrap();
    pam.setcred(Credentials::Delete).unwrap();
    assert!(seen.borrow().prompts.is_empty());
}

#[test]
fn a_refusal_carries_its_code_and_pams_text() {
    let service = Service::install("deny", "auth required pam_deny.so\n");
    let (conversation, _) = Scripted::new(None);
    let mut pam = service.start(conversation);
    let error = pam.authenticate().unwrap_err();
    assert_eq!(error.code, ErrorCode::AuthErr);
    assert_eq!(error.text, "Authentication failure");
}

/// PAM keeps the conversation's address for the whole transaction: it must
/// stay valid however the transaction value moves.
#[test]
fn messages_reach_the_conversation_after_the_transaction_moved() {
    let service = Service::install(
        "echo",
        "auth optional pam_echo.so hello\nauth required pam_permit.so\n",
    );
    let (conversation, seen) = Scripted::new(None);
    let pam = service.start(conversation);
    let mut moved = vec![pam];
    let mut pam = moved.pop().unwrap();
    pam.authenticate().unwrap();
    assert_eq!(seen.borrow().messages, [(b"hello".to_vec(), false)]);
}

#[test]
fn prompts_are_answered_and_the_answer_checked() {
    let service = Service::asking_for_password("prompt");
    let (right, seen) = Scripted::new(Some(b"right"));
    service.start(right).authenticate().unwrap();
    assert_eq!(seen.borrow().prompts, [(b"Password: ".to_vec(), false)]);
    let (wrong, _) = Scripted::new(Some(b"wrong"));
    assert!(service.start(wrong).authenticate().is_err());
}

#[test]
fn a_prompt_without_an_answer_fails_the_call() {
    let service = Service::asking_for_password("no-answer");
    let (conversation, seen) = Scripted::new(None);
    assert!(service.start(conversation).authenticate().is_err());
    assert_eq!(seen.borrow().prompts.len(), 1);
}

/// A panic in the conversation fails the PAM call instead of unwinding
/// through libpam (undefined behaviour; an abort with Rust ≥ 1.81).
#[test]
fn a_panicking_conversation_fails_the_call_without_unwinding_into_pam() {
    let service = Service::asking_for_password("panic");
    let mut pam = service.start(Box::new(Panicking));
    assert!(pam.authenticate().is_err());
    let echo = Service::install("panic-echo", "auth required pam_echo.so hello\n");
    let mut pam = echo.start(Box::new(Panicking));
    let _ = pam.authenticate();
}
