"""Verify a deletion receipt with the public key alone (no AWS access): the hash chain must hold
together and end at the signed head, and the signature over it must be the key's. Used by the CLI
(`./dev cli program-verify-receipt`) and the tests; needs `cryptography` (requirements-dev.txt),
which the Lambda functions never import."""
from __future__ import annotations

import base64
import binascii

from .domain.receipts import Problem, Receipt, chain_problem, signed_message


def verify(receipt: Receipt, public_key_der: bytes) -> Problem | None:
    """None when the receipt is intact and signed by this key; otherwise the first problem found."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    broken = chain_problem(receipt)
    if broken is not None:
        return broken
    key = load_der_public_key(public_key_der)
    if not isinstance(key, ec.EllipticCurvePublicKey) or receipt.algorithm != "ECDSA_SHA_256":
        return Problem.BAD_SIGNATURE
    try:
        key.verify(base64.b64decode(receipt.signature, validate=True), signed_message(receipt),
                   ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return Problem.BAD_SIGNATURE
    return None
