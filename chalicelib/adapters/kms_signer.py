"""Receipts signed with an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256): the private key
never leaves KMS (`kms:Sign`); anyone holding the public key can verify (receipt_verify.py)."""
from __future__ import annotations

import base64
from functools import cached_property
from typing import Any

ALGORITHM = "ECDSA_SHA_256"


class KmsSigner:
    def __init__(self, client: Any, key_id: str) -> None:
        self._kms, self._key_id = client, key_id

    def sign(self, message: bytes) -> tuple[str, str, str]:
        signed = self._kms.sign(KeyId=self._key_id, Message=message, MessageType="RAW", SigningAlgorithm=ALGORITHM)
        return base64.b64encode(signed["Signature"]).decode(), str(signed["KeyId"]), ALGORITHM

    def public_key_der(self) -> bytes:
        return self._public_key

    @cached_property
    def _public_key(self) -> bytes:
        key: bytes = self._kms.get_public_key(KeyId=self._key_id)["PublicKey"]
        return key
