#!/usr/bin/python3
"""A real SMTP server for Herald's tests, built on aiosmtpd.

Listens on 127.0.0.1, prints "PORT <n>" on stdout once it accepts
connections, and appends one JSON line per received message to --out:
{"mail_from", "rcpt_tos", "data" (the raw message), "user" (the
authenticated user or null), "tls" (whether the session was encrypted),
"subject", "body", "headers" (decoded by Python's email package)}.
Exits when stdin closes (the test process went away) or on SIGTERM.

Run it with /usr/bin/python3: Debian's python3-aiosmtpd is installed there.
"""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--out", required=True, help="file receiving one JSON line per message")
    p.add_argument("--cert", help="PEM certificate: enables STARTTLS (or implicit TLS)")
    p.add_argument("--key", help="PEM private key for --cert")
    p.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (smtps)")
    p.add_argument("--require-starttls", action="store_true", help="refuse commands before STARTTLS")
    p.add_argument("--user", help="the one accepted AUTH user")
    p.add_argument("--password", help="its password; anything else gets 535")
    p.add_argument("--reject", action="append", default=[], help="answer RCPT TO:<this> with 550")
    return p.parse_args()


class Handler:
    def __init__(self, args):
        self.args = args

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.reject:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": raw.decode("utf-8", "replace"),
            "user": session.auth_data if session.authenticated else None,
            "tls": bool(self.args.implicit_tls or session.ssl),
        }
        try:
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            record["subject"] = str(msg["subject"]) if msg["subject"] is not None else None
            record["headers"] = {k: str(v) for k, v in msg.items()}
            body = msg.get_body(("plain",))
            text = body.get_content() if body is not None else None
            record["body"] = text.replace("\r\n", "\n") if text is not None else None
        except Exception as e:  # the raw data is still recorded
            record["parse_error"] = repr(e)
        with open(self.args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 Message accepted"


def make_authenticator(args):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = args.user is not None and user == args.user and password == args.password
        # handled=False: aiosmtpd answers 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    return authenticator


async def main():
    args = parse_args()
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # no deprecation chatter
    # AUTH without STARTTLS is fine here: implicit TLS encrypts the whole session.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    loop = asyncio.get_running_loop()
    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    handler = Handler(args)

    def factory():
        return SMTP(
            handler,
            hostname="herald-test-smtp",
            # STARTTLS is offered on plain connections only.
            tls_context=None if args.implicit_tls else context,
            require_starttls=bool(args.require_starttls and context and not args.implicit_tls),
            # AUTH only over TLS, as a real relay does; an implicit-TLS
            # connection is encrypted from the start.
            auth_require_tls=not args.implicit_tls,
            authenticator=make_authenticator(args) if args.user else None,
            auth_required=bool(args.user),
            loop=loop,
        )

    server = await loop.create_server(
        factory, host="127.0.0.1", port=args.port, ssl=context if args.implicit_tls else None
    )
    port = server.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # stdin reaching EOF means the test that started us is gone.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(4096) else None)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
