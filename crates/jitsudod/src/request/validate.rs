//! Validate: malformed requests are refused before any lookup.

use jitsudo_proto::{Failure, Request};

/// Refuses malformed requests before any lookup. (Sizes are bounded by the
/// frame limit; what the kernel will not exec fails there with E2BIG.)
pub fn validate(request: &Request, fd_count: usize) -> Result<(), Failure> {
    if fd_count != request.expected_fds() {
        return Err(Failure::new("protocol error: wrong number of descriptors"));
    }
    let words = request
        .argv
        .iter()
        .chain(&request.env)
        .chain(&request.assignments)
        .chain(request.user.iter())
        .chain(request.group.iter())
        .chain(request.chdir.iter())
        .chain(request.list_user.iter());
    for word in words {
        if word.contains(&0) {
            return Err(Failure::new("invalid argument: embedded NUL byte"));
        }
    }
    Ok(())
}
