"""Run by test_stream_abuse.py inside a private network namespace (`unshare -n`), where it may give the loopback
interface addresses of its own: starts the service on ::, opens streams from three addresses of one /64 and one of
another, and prints one JSON line with what each got ("open" or the close code). Not a test file itself."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from conftest import Service  # noqa: E402
from wsutil import RawClient  # noqa: E402
from test_stream_abuse import _outcome  # noqa: E402

SOURCES = ["2001:db8:1::a", "2001:db8:1::b", "2001:db8:1::c", "2001:db8:2::a"]


def main():
    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        for addr in SOURCES:
            subprocess.run(["ip", "-6", "addr", "add", f"{addr}/128", "dev", "lo", "nodad"], check=True,
                           capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(json.dumps({"skip": f"cannot give the namespace's loopback IPv6 addresses: {e}"}))
        return
    with tempfile.TemporaryDirectory() as work:
        svc = Service(work, env={"HOST": "::", "MAX_WEBSOCKET_CONNECTIONS_PER_IP": "2",
                                 "MAX_WEBSOCKET_CONNECTIONS": "50"})
        clients, outcomes = [], []
        try:
            for source in SOURCES:
                c = RawClient(svc.port, host="::1", source=source)
                clients.append(c)
                outcomes.append(_outcome(c))
        finally:
            for c in clients:
                c.close()
            svc.stop()
        print(json.dumps({"outcomes": outcomes, "sanitizer": svc.sanitizer_errors(), "log": svc.log()[-4000:]}))


if __name__ == "__main__":
    main()
