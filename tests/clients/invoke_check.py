"""Invoke's Context.sudo() against jitsudo (found as `sudo` on PATH), as
tests/tests/clients.rs drives it: user=, pty=True, and a watcher (answering
a question of the command; without a pty, where Invoke answers reliably:
with pty=True, real sudo too hangs now and then in Invoke's watcher loop)."""
import os
import sys

from invoke import Config, Context, Responder

password = os.environ["BECOME_PASSWORD"]
# The test runs without a terminal and with stdin at end of file: Invoke
# must not mirror its own stdin (in_stream=False), as in any CI job.
c = Context(
    config=Config(overrides={"sudo": {"password": password}, "run": {"in_stream": False}})
)

r = c.sudo("id -un", user="jt_target", hide=True)
print("plain:", r.stdout.strip())

r = c.sudo("id -un; tty >/dev/null && echo tty", user="root", pty=True, hide=True)
lines = [l.strip() for l in r.stdout.splitlines() if l.strip()]
print("pty:", " ".join(l for l in lines if l in ("root", "tty")))
print("password leaked:", any(password in l for l in lines))

answer = Responder(pattern=r"Continue\?", response="yes\n")
r = c.sudo(
    "printf 'Continue? '; read a; echo got=$a",
    user="jt_target",
    hide=True,
    watchers=[answer],
)
print("watcher:", [l.strip() for l in r.stdout.splitlines() if "got=" in l][-1])
sys.stdout.flush()
