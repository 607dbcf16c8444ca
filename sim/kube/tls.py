"""TLS for the simulated Kubernetes API, so kubectl sends its credentials.

client-go applies a kubeconfig's user credentials (a token, a client
certificate) only when it talks TLS: against a plain-HTTP server kubectl
sends no Authorization header at all, and the server could not tell a good
token from a wrong one. So the API is also served over HTTPS
(``Endpoints.kube_tls``) with the certificate below, and a kubeconfig for an
``https://`` URL carries this CA.

These are test credentials for 127.0.0.1 only, made once for the simulator
and valid until 2126; the CA's private key was discarded, so nothing else can
be signed by it. Never use them for anything that leaves loopback.
"""

from __future__ import annotations

import base64
import ssl
import tempfile
from pathlib import Path

CA_PEM = """\
-----BEGIN CERTIFICATE-----
MIIDOTCCAiGgAwIBAgIUDBzWJw6sZG4mE3xrCFSV5xRm9LQwDQYJKoZIhvcNAQEL
BQAwIzEhMB8GA1UEAwwYazhzLWNoYXRvcHMgc2ltdWxhdG9yIENBMCAXDTI2MTEy
OTIzMDcxMloYDzIxMjYxMTA1MjMwNzEyWjAjMSEwHwYDVQQDDBhrOHMtY2hhdG9w
cyBzaW11bGF0b3IgQ0EwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQDO
aOoLl165/AUKpAKj4uBkHQmnbyVx1pKWEAmfphPgn+LXt6HLLe65kAE4zldSTB8t
M2l5hGjmASwauOIVfwe6u50w3WaQzTP5NK3McUITdzJV8VuaEjxWVDUA3FB0AGYJ
UwMz1yiy7YZiOVvQNaFntV5SUB45H89Tg04lRaAEpjbfhQDpYfEbU4tMcoRqYsq6
7EMFrmmTg2bUBrmg3g1CWw74ugoU70OVDcU7iaCXsEV6qmC6VeBYBEsIRDXx4OyV
0HU/6l4dbzcIvt8lzLd3nM+xNSxDCuPEtj3hEP+ILrXcGWUXPP8N2I7VEtSJOig9
jAzTg7OJVvVApWIsxTV1AgMBAAGjYzBhMB0GA1UdDgQWBBS1bjlCWU166U/sgXE8
a4xySnJ9SzAfBgNVHSMEGDAWgBS1bjlCWU166U/sgXE8a4xySnJ9SzAPBgNVHRMB
Af8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjANBgkqhkiG9w0BAQsFAAOCAQEAzegG
yoraKFdZMY8fMlkRX8bZbAsG13xyJU1Q3XALdRhW3j0hf8+JrLNv3IoK19sopJC3
y+Nt72xY4IjhKaqM5X28vCRfoz89Br3bRQV4C6M3XITcTyzRiaWZAIcHlrwvKo2J
u2AE9JeyfS79dMkTVFWOQpdJDgVlLFGAN6AFXNGbrKpXySOv+pbPkLFfae3NP7R5
9Y81FqYHZDfLQNyC+003VbrcIKIiCuUdvArH0fCfoaJnzBvX6QrfDz4fW+zGdvlX
hQZiJkS+1joBFEn9JjnD/uE1tRSDC4mm3R8hKH2RhqydsL8rJHQWm5jI38TtEtKM
KCE0/pD9qZyQgWkMIg==
-----END CERTIFICATE-----
"""

CERT_PEM = """\
-----BEGIN CERTIFICATE-----
MIIDfDCCAmSgAwIBAgIUC1ricodgFDtAwW1GjP1DXFtQxS0wDQYJKoZIhvcNAQEL
BQAwIzEhMB8GA1UEAwwYazhzLWNoYXRvcHMgc2ltdWxhdG9yIENBMCAXDTI2MTEy
OTIzMDcxMloYDzIxMjYxMTA1MjMwNzEyWjAZMRcwFQYDVQQDDA5rdWJlLWFwaXNl
cnZlcjCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAKJmP9yX1HT5AZ84
4ZXi/7ULbYFZPVMNvF4RujpfRdzYHeHEZr3GmBD4SVkcZ0+IkhRDVY80nv7wcnf8
wYsCFwUj0d8+lRtuygAw5UeRXFPpIZicIq4OhSVVAiXSIIQUsEQR9mJ/Pdlhp7mG
zQy7wx4PObmHOwUyFWzT0wTlankjA5phFsv4Rce9oZ6/5GBDgeLXpUSrMRyu8RZS
mENjXfcYgIIAkqrQitCSVi9XXC2lihVbKFi3O1Q8F8si4r8Py6mLTTWxQFsB2apz
OzqxSlXzJrYpP/2AbzWYR9n54cRf7eBbfQb+JqAQTJe3Hwpa+tiATJOfPz4bFz07
6cIT7v0CAwEAAaOBrzCBrDAJBgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNV
HSUEDDAKBggrBgEFBQcDATA6BgNVHREEMzAxhwR/AAABgglsb2NhbGhvc3SCCmt1
YmVybmV0ZXOCEmt1YmVybmV0ZXMuZGVmYXVsdDAdBgNVHQ4EFgQUaXyViuP/oeOb
4juiQE4dviY4FEQwHwYDVR0jBBgwFoAUtW45QllNeulP7IFxPGuMckpyfUswDQYJ
KoZIhvcNAQELBQADggEBACbGEphpfOXQ843zOUEAwEKpMhLUu0d89uxCw0WmDkGN
cHhWrajxeNUpcdFn4eaalOcsK8uZsDJb5zgxsVFvdEeaDMPtIpzthFl7UTd+NHcH
Iwc3wDJXZT6OudOrj2Z0MdzF+Yvc5W0wL489L3OdCbJwLJbtp5YWnG6Use268AVO
li90f+yW6TJxBwK/eB5kYIBbXiJmdm/ojIBETVwbbLlf8WvTLsY0GD+gvcveZF0R
uYXjKWYgx3RWcoTtxApvui20agDXOo62AgP87c+JsIj2rZ1nxsl4kKIm5ePAks3T
44Xi5bGvElQJYfTm5IobgXOtWX1uRXvUEQ9Jwm0pCLc=
-----END CERTIFICATE-----
"""

KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCiZj/cl9R0+QGf
OOGV4v+1C22BWT1TDbxeEbo6X0Xc2B3hxGa9xpgQ+ElZHGdPiJIUQ1WPNJ7+8HJ3
/MGLAhcFI9HfPpUbbsoAMOVHkVxT6SGYnCKuDoUlVQIl0iCEFLBEEfZifz3ZYae5
hs0Mu8MeDzm5hzsFMhVs09ME5Wp5IwOaYRbL+EXHvaGev+RgQ4Hi16VEqzEcrvEW
UphDY133GICCAJKq0IrQklYvV1wtpYoVWyhYtztUPBfLIuK/D8upi001sUBbAdmq
czs6sUpV8ya2KT/9gG81mEfZ+eHEX+3gW30G/iagEEyXtx8KWvrYgEyTnz8+Gxc9
O+nCE+79AgMBAAECggEAD+sl52GambyuxAS3WBHgLsbn/P3aXQHDrRTfxEkCeBtX
EoJF7+Q/k6pCxlFabxlb+FCBWoA19ZdsIQbNkeqqhv5z3AYuZ3n8ovgoAVPmUPNR
L7xeSeFye65Rf5ORTGEaxhFcrVr7nQtNfYoRH2ZoQdIMPnta9a9rGjfJP3mdbjIw
QdfFIk3Wxl9vY2Ecr4EvrGXO85O60eLJHYjfhu5MxMD+yaJ0eXy6uS+eXUg7y6wZ
Ieaa5j6OR7JhA7SKM8Qosy3suay0BTuNmFEFGkzKm1Sm2LFch7+/POLLwd6GWU0J
UEwkSugI3gVVphdLbVRaQHkCJS/PxSOREeonduHtoQKBgQDhynY3JyqV3qxPxIGk
0QipuUjXp44Nq1oCNP6XFxC1Up4GBnD6hDMQ8YMTGHIFE2sgTbOzcGd0YCCM0ecu
Ufhn7pbRkfnr89TXC14Mo0ocHvP0d+JmvxaCo87KXjKlvSRrTGSYqtBbLTZEd13r
fQWkH8bXEyH9qb7QAkINwOKujwKBgQC4IJLsodDVCu6oxiN3U2EiOKRZMeN/rBZT
7a6pgnyX8WZArJt3KClDcFdUbaqjJB2HgipLRQaXM9eb8lEl6Ii0u6W994E5i9r2
/YEKbyh/0uv7MidlytYKCJ6+pwtzMDksm2X4zS6ZyunTYxmy47z3horPKGvX26PD
BuHk486PswKBgD4DrZRYXYnsLsd54WGzR/3VtfwFOS7n8UDJ7WLyItSqbFybSEyG
IsB0lNuZyzc5riKhNMoEBWYhQM9sl2JRgTiKf0HwJgR4Y+zsYlh2QNSYa8ipZLVz
pmsbMqDCXobG/Em8IaUMxU1FjbIgVttm6zW4xJQt3RgelxnqhNniMGBhAoGAV3ra
c2TaFC4Sf8tLlGjf8GNa6inCvajkHtIBNvYQ/huqCjY30uAY4rqgMzO7a7E/+l7E
e2h7HiF6YdQ567nUIZI5x8ys78tbqBd/VJbFdh2fEoScpUc+dBvuWASDcyHJOEFI
rHHHnzgB6fXegtiisjORBaVdv3vSDVnav2XggPMCgYEAzwdd0qYQ6GAQ6Nx/72Bm
b3CCIU+5zKnytH6gPsanTam2kdI2be1lE7UUNsI6ImF754P9CR+fH0Uq3SdREgrU
QxNxExZCzvE8KoaW30l/a3eKmAcwNtdptQyNSYKrSY6mcyYg5iOglxIdfp5Y4+G3
CRVRyATGM9e8V2SxfKoWL5o=
-----END PRIVATE KEY-----
"""


def ca_data() -> str:
    """The CA as a kubeconfig's ``certificate-authority-data`` (base64 of the PEM)."""
    return base64.b64encode(CA_PEM.encode()).decode()


def server_context() -> ssl.SSLContext:
    """A server-side context with the API server's certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        cert, key = Path(folder) / "server.pem", Path(folder) / "server.key"
        cert.write_text(CERT_PEM + CA_PEM)
        key.write_text(KEY_PEM)
        context.load_cert_chain(cert, key)
    return context
