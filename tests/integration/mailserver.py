"""A real mail server for the tests: Debian's Postfix, an instance of its own (config, queue and
Maildirs in a temporary folder) listening on a free loopback port, delivering the mailing
lists' mail of ``lists.opsbot.test`` into Maildirs the tests read, and refusing (550) any
other address of that domain. Optionally with STARTTLS on a self-signed certificate.

Postfix wants root (it drops to its own ``postfix`` user); ``make servers`` installs it."""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

from .ircserver import free_port, self_signed
from .processes import stop_process

DOMAIN = "lists.opsbot.test"


class MailServer:
    """One Postfix; ``start``/``stop`` may be called again (its queue and mailboxes stay).
    ``folder`` and its parents must be open to Postfix's own user (not pytest's tmp_path)."""

    def __init__(
        self,
        folder: Path,
        mailboxes: tuple[str, ...],
        *,
        tls: bool = False,
        wrapper: bool = False,
    ) -> None:
        """``tls``: STARTTLS required on a self-signed certificate; ``wrapper``: implicit TLS
        (the submissions port's way, RFC 8314) on it instead."""
        if shutil.which("postfix") is None:
            raise RuntimeError("postfix is not installed: run `make servers`")
        if os.geteuid() != 0:
            raise RuntimeError("the Postfix of the tests must be started as root")
        self.folder = folder
        self.port = free_port()
        self.host = "127.0.0.1"
        self.process: subprocess.Popen[bytes] | None = None
        self.wrapper = wrapper
        user = pwd.getpwnam("postfix")
        conf, data, mail = folder / "conf", folder / "data", folder / "mail"
        for path in (conf, folder / "queue", data, mail):
            path.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)  # Postfix's own user must reach its data and mail folders
        os.chown(data, user.pw_uid, user.pw_gid)
        os.chown(mail, user.pw_uid, user.pw_gid)
        (conf / "mailboxes").write_text("".join(f"{name}@{DOMAIN} {name}/\n" for name in mailboxes))
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": folder / "queue",
            "data_directory": data,
            "mail_owner": "postfix",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "mail.opsbot.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": mail,
            "virtual_mailbox_maps": f"texthash:{conf / 'mailboxes'}",
            "virtual_uid_maps": f"static:{user.pw_uid}",
            "virtual_gid_maps": f"static:{user.pw_gid}",
            "virtual_minimum_uid": "1",
            "alias_maps": "",
            "alias_database": "",
            "maillog_file": folder / "maillog",
            "maillog_file_prefixes": folder,
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtputf8_enable": "no",
            "biff": "no",
        }
        if tls or wrapper:
            self.certificate = folder / "cert.pem"
            self_signed(folder / "key.pem", self.certificate, "127.0.0.1", "IP:127.0.0.1")
            settings |= {
                "smtpd_tls_cert_file": self.certificate,
                "smtpd_tls_key_file": folder / "key.pem",
                "smtpd_tls_security_level": "may" if wrapper else "encrypt",
            }
        (conf / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
        master = Path("/etc/postfix/master.cf").read_text()
        lines = []
        for line in master.splitlines():
            fields = line.split()
            if line.startswith("smtp ") and fields[1] == "inet":
                line = f"127.0.0.1:{self.port} inet n - n - - smtpd"
                if wrapper:
                    line += " -o smtpd_tls_wrappermode=yes"
            elif line and not line[0].isspace() and not line.startswith("#") and len(fields) > 4:
                fields[4] = "n"  # no chroot: the instance's queue is not under /var/spool
                line = " ".join(fields)
            lines.append(line)
        (conf / "master.cf").write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 30) -> None:
        log = (self.folder / "postfix.out").open("ab")
        self.process = subprocess.Popen(
            ["postfix", "-c", str(self.folder / "conf"), "start-fg"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Postfix exited: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as conn:
                    if self.wrapper:
                        context = ssl.create_default_context(cafile=str(self.certificate))
                        with context.wrap_socket(conn, server_hostname=self.host) as secure:
                            if secure.recv(100).startswith(b"220"):
                                return
                    elif conn.recv(100).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"Postfix did not answer within {timeout} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The master runs below postfix-script's shell, which a signal would not reach.
            subprocess.run(
                ["postfix", "-c", str(self.folder / "conf"), "stop"],
                capture_output=True,
                timeout=30,
            )
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                stop_process(self.process)
        self.process = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # its smtpd children go with a moment's delay
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.1)

    def log_tail(self) -> str:
        text = ""
        for name in ("postfix.out", "maillog"):
            path = self.folder / name
            if path.exists():
                text += path.read_text(errors="replace")[-3000:]
        return text

    def messages(self, mailbox: str) -> list[EmailMessage]:
        """The mail delivered to ``mailbox@lists.opsbot.test``, oldest first."""
        folder = self.folder / "mail" / mailbox / "new"
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found

    def wait_for(self, mailbox: str, count: int, timeout: float = 30) -> list[EmailMessage]:
        """Wait until ``mailbox`` holds ``count`` messages (no more); returns them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(mailbox)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(
            f"{mailbox} holds {len(self.messages(mailbox))} messages, not {count}: "
            + self.log_tail()
        )

    def refusals(self) -> list[str]:
        """The addresses Postfix refused, from its log."""
        path = self.folder / "maillog"
        log = path.read_text(errors="replace") if path.exists() else ""
        return re.findall(r"NOQUEUE: reject: RCPT .*? to=<([^>]+)>", log)
