"""Certificates for the Kubernetes API test server, made with the openssl program at test time."""
import pathlib
import subprocess


def make_certs(folder):
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (CN=tester, O=system:masters),
    made with the openssl program. Returns a dict of paths."""
    d = pathlib.Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    p = {k: str(d / k) for k in ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)
    run("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "2", "-subj", "/CN=test-kube-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, subj, ext in (("server", "/CN=kube-apiserver",
                             "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"),
                            ("client", "/O=system:masters/CN=tester", "extendedKeyUsage=clientAuth")):
        csr = str(d / f"{name}.csr")
        extfile = d / f"{name}.ext"
        extfile.write_text(ext + "\n")
        run("req", "-new", *ec, "-keyout", p[f"{name}.key"], "-out", csr, "-subj", subj)
        run("x509", "-req", "-in", csr, "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial", "-days", "2",
            "-out", p[f"{name}.crt"], "-extfile", str(extfile))
    return p
