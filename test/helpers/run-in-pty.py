"""Runs a command with a pseudo-terminal as its controlling terminal, for tests.

    python3 run-in-pty.py MODE COMMAND [ARGS...]

MODE 'pty':  the command's stdin, stdout and stderr are the terminal too.
MODE 'pipe': they stay this helper's own (the test's pipes); only /dev/tty is the terminal.

File descriptor 3 (a socket pair the test opens) is the terminal's other end:
bytes written to it are typed on the terminal, what the command writes to
the terminal comes out of it. The exit status is the command's (128 + N
after signal N). Standard library only: pty, os, select.

Signals to this helper: SIGTERM is passed on to the command; SIGHUP closes
the terminal (the kernel then hangs it up: SIGHUP to the command, as when a
terminal window is closed); SIGUSR1 kills the command with SIGKILL.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios

CONTROL = 3


def main():
    mode, command = sys.argv[1], sys.argv[2:]
    master, slave = pty.openpty()
    # A known size, so what the command draws does not depend on the test machine.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 100, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.close(CONTROL)
        os.setsid()  # a new session, whose controlling terminal becomes the pty
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        if mode == 'pty':
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        os.execvp(command[0], command)

    # The helper keeps the slave open: reads from the master would fail (EIO)
    # whenever the command has no terminal file open (in 'pipe' mode, between prompts).
    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    hang_up = []

    def close_terminal(_signum, _frame):
        hang_up.append(True)  # done in the loop, not while it may be reading the master

    def kill_command(_signum, _frame):
        forward(signal.SIGKILL, None)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, close_terminal)
    signal.signal(signal.SIGUSR1, kill_command)
    control_open = True
    master_open = True
    status = None
    while True:
        if hang_up and master_open:
            os.close(master)  # the last master descriptor: the terminal hangs up
            master_open = False
        watched = ([master] if master_open else []) + ([CONTROL] if control_open else [])
        try:
            readable, _, _ = select.select(watched, [], [], 0.05)
        except InterruptedError:
            continue
        if master in readable and master_open:
            try:
                os.write(CONTROL, os.read(master, 65536))
            except OSError:
                readable = []  # EIO: the command closed the terminal's last descriptor
        if CONTROL in readable:
            data = os.read(CONTROL, 65536)
            if data:
                if master_open:
                    os.write(master, data)
            else:
                control_open = False
        if status is None:
            done, status_word = os.waitpid(pid, os.WNOHANG)
            if done:
                status = status_word
        if status is not None and (not master_open or master not in readable):
            break  # exited, and everything it wrote has been passed on
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


main()
